"""scripts/house_rules.py (run by `make lint`): each rule catches what it forbids, lets its
lookalikes pass, keeps out of the paths it allows, and the real tree passes."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("house_rules", ROOT / "scripts/house_rules.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


house_rules = _load()
RULES = {rule.name: rule for rule in house_rules.RULES}


def _found(rule: str, source: str) -> list[int]:
    return [line for line, _what in
            house_rules.check_source(RULES[rule], textwrap.dedent(source))]


SCOPING_BY_HAND = [
    "Need.objects.filter(region__code__startswith=prefix)",
    'qs.filter(**{f"{field}__code__startswith": prefix})',
    "Cabinet.objects.filter(station__region__code__startswith='330782')",
    "qs.filter(name__startswith=user_prefix)",
    "ok = need.region_id.startswith(profile.org_unit.region.prefix)",
    "near = [w for w in workers if homes[w].startswith(prefix)]",
]
SCOPING_LOOKALIKES = [
    'User.objects.filter(phone__startswith="1370")',
    'api = request.path.startswith("/api/")',
    "hidden = late.prefix.startswith(early.prefix)",  # URL includes, not regions
    "mine = ref.startswith(PROJECT_REF_PREFIX)",
    "Need.objects.in_region(prefix).filter(region_q('need__region', prefix))",
    '"""A docstring may name code__startswith."""',
]


@pytest.mark.parametrize("source", SCOPING_BY_HAND)
def test_region_scoping_by_hand_is_caught(source):
    assert _found("region-scoping-by-hand", source) == [1]


@pytest.mark.parametrize("source", SCOPING_LOOKALIKES)
def test_region_scoping_lookalikes_pass(source):
    assert _found("region-scoping-by-hand", source) == []


MODEL_WRITES = [
    "need.save()",
    'need.save(update_fields=["status"])',
    'Need.objects.create(title="x")',
    'Need.objects.filter(pk=1).update(status="done")',
    "qs.update(done=True)",
    "Need.objects.filter(pk=1).delete()",
    "story.delete()",
    "NeedRaiser.objects.bulk_create(rows)",
    "OrgUnit.objects.get_or_create(region=region)",
]
MODEL_WRITE_LOOKALIKES = [
    "workbook.save(stream)",
    'qr.save(out, kind="png")',
    "context.update(error=message)",
    "seen.update(ids)",
    'body.update({"a": 1})',
    "cache.delete(key)",
    "services.need_raise(actor=user, data=data)",
]


@pytest.mark.parametrize("source", MODEL_WRITES)
def test_a_model_write_is_caught(source):
    assert _found("model-write-outside-services", source) == [1]


@pytest.mark.parametrize("source", MODEL_WRITE_LOOKALIKES)
def test_model_write_lookalikes_pass(source):
    assert _found("model-write-outside-services", source) == []


BATTERY_MOVES = [
    "battery.slot = slot",
    "battery.holder = rider",
    "b.holder_id = None",
    "self.battery.slot_id, x = None, 1",
    "Battery.objects.filter(pk=1).update(slot=None, holder=rider)",
    'Battery.objects.create(serial="B1", slot=slot)',
    'Battery(serial="B1", holder=rider)',
    'battery.save(update_fields=["slot", "status"])',
    'Battery.objects.bulk_update(batteries, ["holder"])',
]
BATTERY_LOOKALIKES = [
    "Battery.objects.filter(holder=rider).first()",
    "order.slot = slot",  # a work order's slot
    "alarm.slot_id = slot.pk",
    "battery.soc_pct = 80",
    'battery.save(update_fields=["soc_pct"])',
    "custody.battery_move(battery=battery, to_place=Place.SLOT, to_slot=slot)",
]


@pytest.mark.parametrize("source", BATTERY_MOVES)
def test_a_battery_moved_outside_custody_is_caught(source):
    assert _found("battery-moved-outside-custody", source) == [1]


@pytest.mark.parametrize("source", BATTERY_LOOKALIKES)
def test_battery_lookalikes_pass(source):
    assert _found("battery-moved-outside-custody", source) == []


def test_findings_name_their_lines():
    source = """
        def page(request, need):
            title = need.title
            need.save()
    """
    assert _found("model-write-outside-services", source) == [4]


@pytest.mark.parametrize(("rule", "path", "covered"), [
    ("model-write-outside-services", "src/nuanxin/needs/views.py", True),
    ("model-write-outside-services", "src/nuanxin/needs/services.py", False),
    ("model-write-outside-services", "src/nuanxin/energy/services/swaps.py", False),
    ("model-write-outside-services", "src/nuanxin/needs/migrations/0001_initial.py", False),
    ("model-write-outside-services", "src/nuanxin/needs/demo.py", False),
    ("region-scoping-by-hand", "src/nuanxin/common/scoping.py", False),
    ("region-scoping-by-hand", "src/nuanxin/common/figures.py", True),
    ("battery-moved-outside-custody", "src/nuanxin/energy/services/custody.py", False),
    ("battery-moved-outside-custody", "src/nuanxin/energy/services/swaps.py", True),
    ("battery-moved-outside-custody", "tests/factories/energy.py", False),
])
def test_each_rule_covers_its_paths_and_not_its_allowlist(rule, path, covered):
    assert RULES[rule].covers(path) is covered


def test_every_allowlist_entry_gives_its_reason():
    for rule in house_rules.RULES:
        assert all(reason.strip() for reason in rule.allow.values()), rule.name


def test_a_violating_file_fails_the_check(tmp_path, monkeypatch, capsys):
    app = tmp_path / "src/nuanxin/app"
    app.mkdir(parents=True)
    (app / "views.py").write_text("def page(need):\n    need.save()\n", encoding="utf-8")
    (app / "services.py").write_text("def need_save(need):\n    need.save()\n",
                                     encoding="utf-8")
    monkeypatch.setattr(house_rules, "ROOT", tmp_path)
    assert house_rules.main([]) == 1
    out = capsys.readouterr().out
    assert "src/nuanxin/app/views.py:2: model-write-outside-services: need.save()" in out
    assert "app/services.py" not in out


def test_the_real_tree_keeps_the_house_rules(capsys):
    assert house_rules.main([]) == 0, capsys.readouterr().out
