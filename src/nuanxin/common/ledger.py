"""Append-only ledgers: entries are written once and never changed; what an account holds is
what its entries add up to, and `verify` replays them to prove it.

Two layers:
- `LedgerEntry` / `Ledger`: any ledger whose entries move an account from one state to the
  next (battery custody: from a place to a place). A subclass says how one entry moves the
  state (`step`) and what the account row says now (`current`); `verify` replays every
  account's entries in order and lists each break in the chain.
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
    """Replays a ledger. Subclasses define `step` (and `current` to compare with the rows)."""

    initial: Any = None

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
        problems: list[str] = []
        states: dict[Any, Any] = {}
        for entry in self.entries(account_ids).iterator(chunk_size=5000):
            account_id = getattr(entry, f"{self.account_field}_id")
            state, problem = self.step(states.get(account_id, self.initial), entry)
            if problem:
                problems.append(f"{self.account_field} {account_id}: entry #{entry.pk} "
                                f"({entry.action}) {problem}")
            states[account_id] = state
        accounts = self.account_model.objects.all()
        if account_ids is not None:
            accounts = accounts.filter(pk__in=list(account_ids))
        for account in accounts.iterator():
            expected = self.current(account)
            replayed = states.get(account.pk, self.initial)
            if expected is not None and expected != replayed:
                problems.append(f"{self.account_field} {account.pk}: the row says {expected} "
                                f"but the entries add up to {replayed}")
        return problems


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
