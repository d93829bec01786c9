#!/usr/bin/env python3
"""House rules that ruff and import-linter do not know, checked on the source's syntax tree.

After Zulip's tools/linter_lib/custom_check.py: each rule has a check (an AST visitor, so a
`dict.update(...)` or a workbook's `save(stream)` is not taken for a model write), the paths
it covers, and an allowlist of paths with the reason each may do what the rule forbids. Keep
the allowlist short: moving a stray write into a service beats allowing it.

    python scripts/house_rules.py            # the whole tree (src/nuanxin); exit 1 on a finding
    python scripts/house_rules.py FILE ...   # only these files

Each finding prints as `path:line: rule: what it found` followed by the rule's description.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "src/nuanxin"

Finding = tuple[int, str]  # (line, what was found)


def _names(node: ast.AST) -> set[str]:
    """Every identifier in an expression: names and attribute names."""
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            ids.add(id(node.value))
    return ids


def _method_calls(tree: ast.AST) -> Iterator[tuple[ast.Call, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield node, node.func.attr


def _source(node: ast.AST) -> str:
    return ast.unparse(node)[:70]


# --- a) region scoping by hand ------------------------------------------------------------

REGION_WORDS = ("code", "region", "district", "street", "community", "home")


def _mentions_prefix(node: ast.AST) -> bool:
    return any("prefix" in name for name in _names(node))


def region_scoping_by_hand(tree: ast.AST) -> Iterator[Finding]:
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg:
            if "code__startswith" in node.arg or "region_id__startswith" in node.arg or (
                    node.arg.endswith("__startswith") and _mentions_prefix(node.value)):
                yield node.value.lineno, f"{node.arg}=..."
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in skip and "code__startswith" in node.value:
            yield node.lineno, repr(node.value)[:70]
    for call, method in _method_calls(tree):
        if method != "startswith" or not call.args:
            continue
        arg = call.args[0]
        if _mentions_prefix(arg) and (isinstance(arg, ast.Name) or any(
                word in name for name in _names(call) for word in REGION_WORDS)):
            yield call.lineno, _source(call)


# --- b) a model write outside services ----------------------------------------------------

ALWAYS_WRITES = {"bulk_create", "bulk_update", "get_or_create", "update_or_create"}


def _queryset_like(node: ast.AST) -> bool:
    """`Model.objects...`, a chain of calls (`....filter(...)`), or a variable named qs."""
    return any(isinstance(part, ast.Call) or (isinstance(part, ast.Attribute)
                                              and part.attr == "objects")
               or (isinstance(part, ast.Name) and ("qs" in part.id or "queryset" in part.id))
               for part in ast.walk(node))


def model_write_outside_services(tree: ast.AST) -> Iterator[Finding]:
    for call, method in _method_calls(tree):
        receiver = call.func.value
        if (
            method in ALWAYS_WRITES
            # Model.save() / queryset.delete(): a workbook's save(stream) takes an argument
            or (method in ("save", "delete") and not call.args)
            or (method == "create" and isinstance(receiver, ast.Attribute)
                and receiver.attr == "objects")
            # queryset.update(field=...), not dict.update(key=...) nor set.update(items)
            or (method == "update" and not call.args and call.keywords
                and _queryset_like(receiver))
        ):
            yield call.lineno, _source(call)


# --- c) a battery moved outside custody ---------------------------------------------------

PLACE_FIELDS = {"slot", "slot_id", "holder", "holder_id"}
BATTERY_WRITES = {"update", "create", "get_or_create", "update_or_create", "save", "bulk_update"}


def _about_batteries(node: ast.AST) -> bool:
    return any("batter" in name.lower() for name in _names(node))


def _field_list(node: ast.AST) -> set[str]:
    return {c.value for c in ast.walk(node) if isinstance(c, ast.Constant)
            and isinstance(c.value, str)}


def battery_moved_outside_custody(tree: ast.AST) -> Iterator[Finding]:
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and part.attr in PLACE_FIELDS and (
                        part.attr.startswith("holder") or _about_batteries(part.value)):
                    yield part.lineno, f"{_source(part)} = ..."
        if not isinstance(node, ast.Call):
            continue
        keywords = {k.arg for k in node.keywords if k.arg}
        if isinstance(node.func, ast.Name):  # Battery(slot=...), not yet saved
            if node.func.id == "Battery" and keywords & PLACE_FIELDS:
                yield node.lineno, _source(node)
            continue
        if not isinstance(node.func, ast.Attribute):
            continue
        method = node.func.attr
        if not _about_batteries(node.func.value) or method not in BATTERY_WRITES:
            continue
        listed = [k.value for k in node.keywords if k.arg in ("update_fields", "fields")]
        listed += node.args[1:2] if method == "bulk_update" else []
        if (method in ("update", "create", "get_or_create", "update_or_create")
                and keywords & PLACE_FIELDS) or any(
                    _field_list(value) & PLACE_FIELDS for value in listed):
            yield node.lineno, _source(node)


# --- the rules ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[[ast.AST], Iterator[Finding]]
    include: tuple[str, ...] = (f"{SOURCE}/*.py",)
    exclude: tuple[str, ...] = (f"{SOURCE}/*/migrations/*",)
    # path pattern -> why that code may do what the rule forbids
    allow: dict[str, str] = field(default_factory=dict)

    def covers(self, path: str) -> bool:
        return (any(fnmatch(path, p) for p in self.include)
                and not any(fnmatch(path, p) for p in (*self.exclude, *self.allow)))


RULES = (
    Rule(
        "region-scoping-by-hand",
        "Scope rows with common.scoping: Model.objects.visible_to(user) / in_region(prefix), "
        "region_q(path, prefix) for other models, covers() / in_scope() for one code. A "
        "hand-written prefix filter is a data leak waiting for a typo.",
        region_scoping_by_hand,
        allow={f"{SOURCE}/common/scoping.py": "the one place region prefixes are compared"},
    ),
    Rule(
        "model-write-outside-services",
        "Write models in a service (services.py or a services/ package): one named use case "
        "in a transaction, which views, API, admin, commands and jobs all call.",
        model_write_outside_services,
        exclude=(f"{SOURCE}/*/migrations/*", f"{SOURCE}/*/services.py",
                 f"{SOURCE}/*/services/*.py"),
        allow={
            f"{SOURCE}/*/demo.py": "demo seeders build a whole history in bulk, on an empty "
                                   "database, from a seed number",
            f"{SOURCE}/common/workflow.py": "the workflow kit writes the history row inside "
                                            "the service that moves the state",
            f"{SOURCE}/common/ledger.py": "the ledger base appends entries for its services "
                                         "and refuses every other write",
            f"{SOURCE}/common/seats.py": "the seat helper takes and releases seats under the "
                                        "row lock of the service that calls it",
            f"{SOURCE}/accounts/throttle.py": "security counters: each change is its own short "
                                              "transaction, so a refusal cannot unwind it",
            f"{SOURCE}/stations/imports.py": "the .xlsx import is a use case of its own "
                                             "(stations_import: every row or none)",
        },
    ),
    Rule(
        "battery-moved-outside-custody",
        "Move a battery (its slot or holder) only with energy.services.custody.battery_move: "
        "it writes the row and the custody ledger entry together, so `nuanxin energy "
        "verify` adds up.",
        battery_moved_outside_custody,
        allow={
            f"{SOURCE}/energy/services/custody.py": "the one writer of a battery's place",
            f"{SOURCE}/energy/demo.py": "seeds batteries with their custody entries in bulk",
        },
    ),
)


def check_source(rule: Rule, text: str, path: str = "<text>") -> list[Finding]:
    """The findings of one rule in one file's text (used by the tests, too)."""
    return sorted(set(rule.check(ast.parse(text, filename=path))))


def files(paths: list[str]) -> list[Path]:
    if paths:
        return [Path(p).resolve() for p in paths]
    return sorted((ROOT / SOURCE).rglob("*.py"))


def main(argv: list[str]) -> int:
    broken = 0
    for path in files(argv):
        relative = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        rules = [rule for rule in RULES if rule.covers(relative)]
        if not rules:
            continue
        text = path.read_text(encoding="utf-8")
        for rule in rules:
            for line, found in check_source(rule, text, relative):
                print(f"{relative}:{line}: {rule.name}: {found}\n    {rule.description}")
                broken += 1
    if broken:
        print(f"\n{broken} house-rule finding(s); see scripts/house_rules.py for the rules and "
              "their allowlists.")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
