"""Every action code a workflow writes has words a page can show, in Chinese and English,
and a row's timeline reads its history in those words, in order."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.utils import timezone, translation

from nuanxin.common.workflow import registered
from nuanxin.voice.services import STORY_WORKFLOW, story_create, story_hide, story_publish
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import YIJIASHAN

SRC = Path(__file__).resolve().parents[2] / "src" / "nuanxin"
APP_WORKFLOWS = sorted(name for name in registered() if not name.startswith("tests."))
CJK = re.compile(r"[\u4e00-\u9fff]")


def codes_written_in_source() -> dict[str, set[str]]:
    """{workflow name: the codes of that workflow spelled out anywhere in src/}: plain
    strings under its name or a prefix it names ("needs.need.merged",
    "surveys.question.added"); f-strings (dedupe keys) are not codes."""
    owner = {prefix: name for name in APP_WORKFLOWS
             for prefix in registered()[name].code_prefixes}
    found: dict[str, set[str]] = {name: set() for name in APP_WORKFLOWS}
    pattern = re.compile(r"^([a-z_]+\.[a-z_]+)\.[a-z_]+$")
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_fstring = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                      for v in node.values}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in in_fstring):
                match = pattern.match(node.value)
                if match and match.group(1) in owner:
                    found[owner[match.group(1)]].add(node.value)
    return found


def test_the_scan_finds_codes_of_every_app_workflow():
    found = codes_written_in_source()
    assert all(found[name] for name in APP_WORKFLOWS), found
    assert "needs.need.absorbed" in found["needs.need"]  # written by record(), not a move
    assert "surveys.question.added" in found["surveys.survey"]  # under a prefix it names


@pytest.mark.parametrize("name", APP_WORKFLOWS)
def test_every_code_a_workflow_writes_has_words(name):
    workflow = registered()[name]
    written = workflow.codes() | codes_written_in_source()[name]
    assert sorted(written - set(workflow.labels)) == []


@pytest.mark.parametrize("name", APP_WORKFLOWS)
def test_the_words_are_chinese_and_english(name):
    workflow = registered()[name]
    for code in workflow.labels:
        with translation.override("zh-hans"):
            chinese = workflow.label(code)
        with translation.override("en"):
            english = workflow.label(code)
        assert CJK.search(chinese), (code, chinese)
        assert english and not CJK.search(english), (code, english)


def test_an_unknown_code_reads_as_itself():
    assert registered()["needs.need"].label("needs.need.nobody_knows") == (
        "needs.need.nobody_knows")


@pytest.mark.django_db
def test_a_timeline_reads_the_history_in_order_with_who_and_the_states():
    author = WorkerFactory(home_region_code=YIJIASHAN)
    reviewer = StaffFactory(region_code=YIJIASHAN)
    story = story_create(author=author, text="雨天在驿站喝到了热水，谢谢！", consent_publish=True)
    story_publish(actor=reviewer, story_id=story.pk)
    story_hide(actor=reviewer, story_id=story.pk, note="含有电话号码")
    with translation.override("zh-hans"):
        rows = STORY_WORKFLOW.timeline(story)
    assert [(r.code, r.actor, r.label) for r in rows] == [
        ("voice.story.created", author, "提交了心里话"),
        ("voice.story.published", reviewer, "发布到社区页面"),
        ("voice.story.hidden", reviewer, "隐藏"),
    ]
    assert [r.moved for r in rows] == [False, True, True]
    assert (rows[2].from_label, rows[2].to_label, rows[2].reason) == ("已发布", "不公开",
                                                                       "含有电话号码")
    assert rows[0].at <= rows[1].at <= rows[2].at <= timezone.now()
    newest = STORY_WORKFLOW.timeline(story, newest_first=True, limit=2)
    assert [r.code for r in newest] == ["voice.story.hidden", "voice.story.published"]
