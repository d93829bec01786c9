"""common.ledger: entries never change, the balance is their sum, verify replays them."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from nuanxin.common.errors import ServiceError
from nuanxin.common.ledger import AmountLedger, AppendOnly, HolderLedger
from tests.common.kit_models import Tool, ToolEntry, Wallet, WalletEntry
from tests.common.threads import all_at_once, in_thread, needs_postgresql

pytestmark = pytest.mark.django_db

POINTS = AmountLedger(entry_model=WalletEntry, account_model=Wallet, balance_field="balance")


def _post(wallet, amount, **kw):
    with transaction.atomic():
        return POINTS.post(wallet.pk, amount, action=kw.pop("action", "tests.points.award"), **kw)


def test_the_balance_is_the_sum_of_the_entries():
    wallet = Wallet.objects.create(name="李华贤")
    _post(wallet, 50)
    _post(wallet, 30)
    last = _post(wallet, -20, action="tests.points.spent")
    wallet.refresh_from_db()
    assert POINTS.balance(wallet.pk) == wallet.balance == last.balance_after == 60
    assert POINTS.verify() == []
    assert POINTS.replay(wallet.pk) == 60


def test_an_entry_is_never_changed_nor_deleted():
    wallet = Wallet.objects.create(name="w")
    entry = _post(wallet, 10)
    entry.amount = 1000
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        WalletEntry.objects.filter(pk=entry.pk).update(amount=1000)
    with pytest.raises(AppendOnly):
        WalletEntry.objects.filter(pk=entry.pk).delete()
    assert WalletEntry.objects.get(pk=entry.pk).amount == 10


def test_the_same_key_posts_once():
    wallet = Wallet.objects.create(name="w")
    first = _post(wallet, 10, key="story-7-published")
    again = _post(wallet, 10, key="story-7-published")
    assert again.pk == first.pk and POINTS.balance(wallet.pk) == 10


def test_going_below_zero_is_refused_and_changes_nothing():
    wallet = Wallet.objects.create(name="w")
    _post(wallet, 5)
    with pytest.raises(ServiceError) as refused:
        _post(wallet, -6)
    body = refused.value.as_dict()
    assert (body["code"], refused.value.status, body["balance"]) == (
        "insufficient_balance", 409, 5)
    assert body["message_en"] == "The balance is 5, not enough to take 6."
    wallet.refresh_from_db()
    assert POINTS.balance(wallet.pk) == wallet.balance == 5


@pytest.mark.parametrize("amount", [0, 1.5, True, "3"])
def test_an_amount_must_be_a_nonzero_integer(amount):
    wallet = Wallet.objects.create(name="w")
    with pytest.raises(ServiceError) as refused:
        _post(wallet, amount)
    assert refused.value.code == "invalid_amount"


def test_verify_finds_a_tampered_cache_and_a_broken_chain():
    wallet = Wallet.objects.create(name="w")
    _post(wallet, 10)
    _post(wallet, 5)
    Wallet.objects.filter(pk=wallet.pk).update(balance=99)
    # an entry written around the ledger (its running balance does not follow)
    WalletEntry.objects.create(wallet=wallet, amount=1, balance_after=1, action="x",
                               at=WalletEntry.objects.first().at)
    problems = POINTS.verify([wallet.pk])
    assert len(problems) == 2
    assert "balance became 1, the sum is 16" in problems[0]
    assert "row says 99" in problems[1]


def test_simultaneous_posts_add_up_and_never_overdraw():
    """Ten spends of 3 from a balance of 20 at the same moment: six go through, four are
    refused, nothing is lost and the balance never goes below zero."""
    needs_postgresql()
    wallet_id = in_thread(lambda: Wallet.objects.create(name="race").pk)
    try:
        in_thread(lambda: _post(Wallet(pk=wallet_id), 20))

        def spend():
            try:
                _post(Wallet(pk=wallet_id), -3, action="tests.points.spent")
                return "ok"
            except ServiceError as exc:
                return exc.code

        outcomes = all_at_once([spend] * 10)
        assert sorted(outcomes) == ["insufficient_balance"] * 4 + ["ok"] * 6, outcomes
        assert in_thread(lambda: (POINTS.balance(wallet_id), POINTS.verify([wallet_id]))) == (
            2, [])
    finally:
        in_thread(lambda: Wallet.objects.filter(pk=wallet_id).delete())


def test_simultaneous_posts_with_one_key_land_once():
    needs_postgresql()
    wallet_id = in_thread(lambda: Wallet.objects.create(name="race-key").pk)
    try:
        results = all_at_once([lambda: _post(Wallet(pk=wallet_id), 7, key="k").pk] * 5)
        assert len(set(results)) == 1, results
        assert in_thread(lambda: POINTS.balance(wallet_id)) == 7
    finally:
        in_thread(lambda: Wallet.objects.filter(pk=wallet_id).delete())


# --- custody of unique items (HolderLedger) ---------------------------------------------

class ToolCustody(HolderLedger):
    """A tool is on the shelf (shared) or with one person, who holds one tool at a time."""

    def origin(self, entry):
        return entry.from_holder or None

    def state_after(self, entry):
        return entry.to_holder

    def current(self, tool):
        return tool.holder

    def label(self, tool):
        return f"tool {tool.name}"

    def holders(self, state):
        return [] if state == "shelf" else [state]


TOOLS = ToolCustody(entry_model=ToolEntry, account_model=Tool)


def _hand(tool, to, *, frm=None):
    """Move the tool and append the entry, as a custody service would."""
    frm = tool.holder if frm is None else frm
    Tool.objects.filter(pk=tool.pk).update(holder=to)
    tool.holder = to
    return ToolEntry.objects.create(tool=tool, from_holder=frm, to_holder=to, action="lend",
                                    at=timezone.now())


def _new_tool(name):
    tool = Tool.objects.create(name=name)
    _hand(tool, "shelf", frm="")
    return tool


def test_hand_overs_that_follow_each_other_verify():
    drill = _new_tool("drill")
    _hand(drill, "alice")
    _hand(drill, "bob")
    _new_tool("saw")  # two tools on the shelf at once: the shelf is shared
    assert TOOLS.verify() == []
    assert TOOLS.replay(drill.pk) == "bob"


def test_an_entry_that_does_not_start_where_the_last_ended_is_found():
    drill = _new_tool("drill")
    _hand(drill, "alice")
    entry = _hand(drill, "carol", frm="bob")
    assert TOOLS.verify() == [f"tool drill: entry #{entry.pk} (lend) starts at bob but the "
                              "item was at alice"]


def test_a_first_entry_from_somewhere_is_found():
    drill = Tool.objects.create(name="drill")
    entry = _hand(drill, "alice", frm="shelf")
    assert TOOLS.verify() == [f"tool drill: entry #{entry.pk} (lend) starts from shelf, not "
                              "from nowhere"]


def test_two_tools_in_one_pair_of_hands_and_a_row_behind_the_ledgers_back_are_found():
    drill, saw = _new_tool("drill"), _new_tool("saw")
    _hand(drill, "alice")
    _hand(saw, "alice")
    hammer = _new_tool("hammer")
    Tool.objects.filter(pk=hammer.pk).update(holder="dave")
    assert TOOLS.verify() == [
        "tool hammer: the ledger says shelf but the row says dave",
        "alice: the ledger puts tool drill, tool saw there at once",
    ]


def test_a_tool_without_entries_is_found_and_entries_stay_as_written():
    Tool.objects.create(name="level", holder="erin")
    assert TOOLS.verify() == ["tool level has no ledger entry"]
    entry = _hand(_new_tool("drill"), "alice")
    with pytest.raises(AppendOnly):
        ToolEntry.objects.filter(pk=entry.pk).update(to_holder="mallory")
    with pytest.raises(AppendOnly):
        entry.delete()
    assert ToolEntry.objects.get(pk=entry.pk).to_holder == "alice"
