"""House rule of the console kit (issue 9 item 3): templates carry no style of their own and
no inline script. Styles live in static/nuanxin/app.css and console.css, behaviour in static
files; page data travels in json_script blocks (type="application/json"). Every app's
templates, energy's included."""

import re
from pathlib import Path

import nuanxin

ROOT = Path(nuanxin.__file__).parent

STYLE_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*\sstyle\s*=", re.S)
STYLE_BLOCK = re.compile(r"<style[\s>]", re.I)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
HANDLER = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S)


def templates():
    return sorted(ROOT.rglob("templates/**/*.html"))


def problems(text):
    found = []
    if STYLE_ATTRIBUTE.search(text):
        found.append('style="…" attribute')
    if STYLE_BLOCK.search(text):
        found.append("<style> block")
    for attributes in SCRIPT_TAG.findall(text):
        if "src=" not in attributes and "application/json" not in attributes:
            found.append("inline <script>")
    if HANDLER.search(text):
        found.append("inline event handler (on…=)")
    return found


def test_the_rule_sees_each_kind_of_inline_code():
    assert problems('<p class="x" style="margin:0">') == ['style="…" attribute']
    assert problems("<style>.a{}</style>") == ["<style> block"]
    assert problems("<script>alert(1)</script>") == ["inline <script>"]
    assert problems('<button onclick="go()">') == ["inline event handler (on…=)"]
    assert problems('<script src="/static/a.js" defer></script>') == []
    assert problems('<script type="application/json" id="d">{}</script>') == []
    assert problems('<span data-style="x" data-onload="y">') == []


def test_no_template_has_inline_style_or_script():
    checked = templates()
    assert any("energy" in path.parts for path in checked)
    assert len(checked) > 80  # the whole tree was walked, not an empty folder
    offenders = {str(path.relative_to(ROOT)): found for path in checked
                 if (found := problems(path.read_text(encoding="utf-8")))}
    assert offenders == {}
