"""Append-only ledgers: entries are written once and never changed; what an account holds is
what its entries add up to, and `verify` replays them to prove it.

Three layers:
- `LedgerEntry` / `Ledger`: any ledger whose entries move an account from one state to the
  next. A subclass says how one entry moves the state (`step`) and what the account row says
  now (`current`); `verify` replays every account's entries in order and lists each break in
  the chain, each row that disagrees with its replay, and (`holders`) two accounts replayed
  into a place only one may hold.
- `HolderLedger`: custody of unique items (battery custody: from a place to a place), where
  each entry must start where the previous one ended.
- `AmountEntry` / `AmountLedger`: the common case, a number (points, fen, stock). The
  balance is the sum of the entries; each entry also keeps the running balance after it, so a
  replay finds a missing, changed or reordered entry. `post` locks the account row, is
  idempotent by `key` (a retried request posts once) and refuses to go below zero unless told.

See docs/decisions/0013-ledgers-and-seats.md for the example a new app copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import NotFound, ServiceError, lazy_format


class AppendOnly(ValueError):
    """A ledger entry was about to be changed or deleted."""


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk update() and delete() would bypass the model's refusal: refuse them here too."""

    def update(self, **kwargs):
        raise AppendOnly(f"{self.model.__name__} entries are never changed")

    def delete(self):
        raise AppendOnly(f"{self.model.__name__} entries are never deleted")


class LedgerEntry(models.Model):
    """One entry of a ledger. Concrete models add the foreign key to their account, name it in
    `account_field`, and add `UniqueConstraint(fields=[account, "key"], condition=~Q(key=""))`
    so a retried post cannot land twice."""

    account_field = ""

    action = models.CharField(max_length=60)  # dotted code: points.award.story_published
    key = models.CharField(max_length=80, blank=True)  # idempotency key, unique per account
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{getattr(self, f'{self.account_field}_id', '?')} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly(f"{type(self).__name__} entries are never changed; post a "
                             "correcting entry instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly(f"{type(self).__name__} entries are never deleted")


class AmountEntry(LedgerEntry):
    amount = models.BigIntegerField()  # signed: + credit, - debit
    balance_after = models.BigIntegerField()

    class Meta(LedgerEntry.Meta):
        abstract = True


class Ledger:
    """Replays a ledger. Subclasses define `step` (and `current` to compare with the rows).

    The sentences `verify` writes name an account by `label(account)`; a ledger whose
    accounts may not share a place (one item per slot, one per person) says which place a
    state occupies in `holders(state)`, and `verify` reports two accounts replayed into the
    same place."""

    initial: Any = None
    entry_noun = "ledger"  # "battery X has no <noun> entry"

    def __init__(self, *, entry_model: type[LedgerEntry], account_model: type[models.Model]):
        self.entry_model = entry_model
        self.account_model = account_model
        self.account_field = entry_model.account_field

    def step(self, state: Any, entry: LedgerEntry) -> tuple[Any, str | None]:
        """The state after `entry`, and a sentence if the entry does not follow from `state`."""
        raise NotImplementedError

    def current(self, account: models.Model) -> Any:
        """What the account row says the replayed state should be (None: nothing to compare)."""
        return None

    def label(self, account: models.Model) -> str:
        return f"{self.account_field} {account.pk}"

    def describe(self, state: Any) -> str:
        return str(state)

    def check(self, account: models.Model) -> list[str]:
        """Problems of the account row on its own (a row that contradicts itself)."""
        return []

    def holders(self, state: Any) -> Iterable[str]:
        """The places `state` occupies that no other account may occupy at the same time."""
        return ()

    def clash(self, holder: str, accounts: list[models.Model]) -> str:
        labels = ", ".join(self.label(a) for a in accounts)
        return f"{holder}: the ledger puts {labels} there at once"

    def cross_check(self, states: dict[Any, Any], accounts: dict[Any, models.Model]) -> list[str]:
        """Checks against another source once every account is replayed (`states`, by
        account pk): custody compares the slots' contents the cabinets last reported."""
        return []

    # `accounts` and `entries` may return rows as named tuples (`values_list(..., named=True)`
    # with "pk" / "id" and the fields the hooks read): a replay of a large ledger then builds
    # no model instances.
    def accounts(self, account_ids: Iterable[Any] | None = None) -> models.QuerySet:
        qs = self.account_model.objects.order_by("pk")
        return qs if account_ids is None else qs.filter(pk__in=list(account_ids))

    def entries(self, account_ids: Iterable[Any] | None = None) -> models.QuerySet:
        qs = self.entry_model.objects.all()
        if account_ids is not None:
            qs = qs.filter(**{f"{self.account_field}_id__in": list(account_ids)})
        return qs.order_by(f"{self.account_field}_id", "id")

    def replay(self, account_id: Any) -> Any:
        state = self.initial
        for entry in self.entries([account_id]).iterator():
            state, _problem = self.step(state, entry)
        return state

    def verify(self, account_ids: Iterable[Any] | None = None) -> list[str]:
        """Every problem found, one sentence each; empty means the ledger holds."""
        if account_ids is not None:
            account_ids = list(account_ids)
        accounts = {a.pk: a for a in self.accounts(account_ids).iterator(chunk_size=5000)}

        def label(pk: Any) -> str:
            return self.label(accounts[pk]) if pk in accounts else f"{self.account_field} {pk}"

        problems: list[str] = []
        states: dict[Any, Any] = {}
        for entry in self.entries(account_ids).iterator(chunk_size=5000):
            account_id = getattr(entry, f"{self.account_field}_id")
            state, problem = self.step(states.get(account_id, self.initial), entry)
            if problem:
                problems.append(f"{label(account_id)}: entry #{entry.id} ({entry.action}) "
                                f"{problem}")
            states[account_id] = state
        held: dict[str, list[models.Model]] = {}
        for pk, account in accounts.items():
            problems += self.check(account)
            expected = self.current(account)
            if pk not in states:
                if expected is not None and expected != self.initial:
                    problems.append(f"{label(pk)} has no {self.entry_noun} entry")
                continue
            replayed = states[pk]
            if expected is not None and expected != replayed:
                problems.append(f"{label(pk)}: the ledger says {self.describe(replayed)} "
                                f"but the row says {self.describe(expected)}")
            for holder in self.holders(replayed):
                held.setdefault(holder, []).append(account)
        problems += [self.clash(holder, together) for holder, together in held.items()
                     if len(together) > 1]
        for pk in sorted(states.keys() - accounts.keys()):
            problems.append(f"{self.entry_noun} entries for {self.account_field} {pk}, "
                            "which does not exist")
        return problems + self.cross_check(states, accounts)


class HolderLedger(Ledger):
    """Custody of unique items (a battery, a loaned tool): each account is one item, each
    entry hands it from one place to the next. The replayed state is where the item is and
    in what condition; each entry must start where the previous one ended (the first from
    nowhere), and two items may not be in one exclusive place at once.

    Subclasses say where an entry takes the item from (`origin`, None for nowhere: the item
    came into being), what the state is after it (`state_after`), the place part of a state
    (`position`, compared with the next entry's origin) and whether that place holds one
    item only (`holders`), and what the item's row says now (`current`)."""

    def origin(self, entry: LedgerEntry) -> Any:
        raise NotImplementedError

    def state_after(self, entry: LedgerEntry) -> Any:
        raise NotImplementedError

    def position(self, state: Any) -> Any:
        return state

    def describe_position(self, position: Any) -> str:
        return str(position)

    def step(self, state: Any, entry: LedgerEntry) -> tuple[Any, str | None]:
        after = self.state_after(entry)
        origin = self.origin(entry)
        if state is None:
            if origin is not None:
                return after, (f"starts from {self.describe_position(origin)}, "
                               "not from nowhere")
            return after, None
        was = self.position(state)
        if origin != was:
            return after, (f"starts at {self.describe_position(origin)} but the item was at "
                           f"{self.describe_position(was)}")
        return after, None


class AmountLedger(Ledger):
    """A number per account. `balance_field`, if given, is a cached copy on the account row
    (for listing and sorting); the entries stay the truth and `verify` compares the two."""

    initial = 0

    def __init__(self, *, entry_model: type[AmountEntry], account_model: type[models.Model],
                 balance_field: str | None = None, allow_negative: bool = False,
                 not_found: Any = None, insufficient: Any = None):
        super().__init__(entry_model=entry_model, account_model=account_model)
        self.balance_field = balance_field
        self.allow_negative = allow_negative
        self.not_found = not_found or _("找不到这个账户。")
        # translatable, with %(balance)d and %(amount)d
        self.insufficient = insufficient or _("余额 %(balance)d，不够扣除 %(amount)d。")

    def step(self, state: int, entry: AmountEntry) -> tuple[int, str | None]:
        after = state + entry.amount
        if entry.balance_after != after:
            return after, f"says the balance became {entry.balance_after}, the sum is {after}"
        return after, None

    def current(self, account: models.Model) -> int | None:
        return getattr(account, self.balance_field) if self.balance_field else None

    def balance(self, account_id: Any) -> int:
        """The sum of the account's entries."""
        total = (self.entry_model.objects.filter(**{f"{self.account_field}_id": account_id})
                 .aggregate(total=Sum("amount"))["total"])
        return total or 0

    def lock(self, account_id: Any) -> models.Model:
        account = (self.account_model.objects.select_for_update(of=("self",))
                   .filter(pk=account_id).first())
        if account is None:
            raise NotFound("account_not_found", self.not_found)
        return account

    def post(self, account_id: Any, amount: int, *, action: str, key: str = "",
             actor: Any = None, data: dict | None = None, at: datetime | None = None,
             extra: dict | None = None) -> AmountEntry:
        """Append one entry, inside the caller's transaction, under the account's row lock.

        The same `key` posted again returns the first entry and changes nothing."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
            raise ServiceError("invalid_amount", _("数额必须是非零整数。"))
        account = self.lock(account_id)
        mine = self.entry_model.objects.filter(**{self.account_field: account})
        if key:
            earlier = mine.filter(key=key).first()
            if earlier is not None:
                return earlier
        last = mine.order_by("-id").values_list("balance_after", flat=True).first()
        balance = (last or 0) + amount
        if balance < 0 and not self.allow_negative:
            raise ServiceError(
                "insufficient_balance",
                lazy_format(self.insufficient, balance=last or 0, amount=-amount),
                status=409, details={"balance": last or 0},
            )
        entry = self.entry_model.objects.create(
            **{self.account_field: account}, amount=amount, balance_after=balance,
            action=action, key=key, actor=actor, data=data or {}, at=at or timezone.now(),
            **(extra or {}),
        )
        if self.balance_field:
            self.account_model.objects.filter(pk=account.pk).update(
                **{self.balance_field: balance})
        return entry
