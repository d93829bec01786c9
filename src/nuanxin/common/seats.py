"""Scarce capacity (a class's seats, a resource's places, a reward's stock): take, release, and
a waitlist promoted in order when places free up.

Every change runs under ONE row lock, the pool's (the row that has the capacity): lock late,
once per transaction, then count and decide. Two people asking for the last seat at the same
moment queue on that lock; the second counts the first one's seat. On SQLite the lock is a
no-op, but writers already queue on the database's write lock (transactions begin IMMEDIATE).

Holdings are rows of the app's own model (abstract base `SeatHolding`) keyed per pool by an
idempotency `key` (the person, the project, the request): taking again with the same key
returns the same holding, or changes how many it holds. Releasing deletes the holding (the
app's workflow or history records who left) and promotes the waitlist, first come first
served: the first waiting holding that does not fit stops the promotion, so nobody overtakes.

See docs/decisions/0013-ledgers-and-seats.md for the example a new app copies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import NotFound, ServiceError, lazy_format


class SeatStatus(models.TextChoices):
    HELD = "held", _("已占用")
    WAITING = "waiting", _("候补")


class SeatHolding(models.Model):
    """One holding of a pool's capacity. Concrete models add the foreign key to the pool, name
    it in `pool_field`, and add `UniqueConstraint(fields=[pool, "key"])`."""

    pool_field = ""

    key = models.CharField(max_length=80)
    quantity = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=8, choices=SeatStatus.choices, default=SeatStatus.HELD)
    taken_at = models.DateTimeField()  # when asked: the waitlist's order
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.key}: {self.quantity} ({self.status})"


class Seats:
    """The capacity helper for one pool model and its holdings model.

    `counts` narrows which held rows use capacity (e.g. only while their project is open);
    `full` builds the refusal's message from the pool and what remains (%(n)d style)."""

    def __init__(
        self,
        *,
        pool_model: type[models.Model],
        holding_model: type[SeatHolding],
        capacity_field: str = "capacity",
        counts: Q | None = None,
        full: Callable[[Any, int], Any] | None = None,
        not_found: Any = None,
        not_found_code: str = "pool_not_found",
    ) -> None:
        self.pool_model = pool_model
        self.holding_model = holding_model
        self.pool_field = holding_model.pool_field
        self.capacity_field = capacity_field
        self.counts = counts or Q()
        self.full = full or (lambda pool, n: lazy_format(_("只剩 %(n)d 个名额。"), n=n))
        self.not_found = not_found or _("找不到这项资源。")
        self.not_found_code = not_found_code

    # --- reading (call under the lock when the answer decides a write) ---------------------

    def lock(self, pool_id: Any) -> models.Model:
        """THE way into a pool for a write: its row, locked for the rest of the transaction."""
        pool = self.pool_model.objects.select_for_update(of=("self",)).filter(pk=pool_id).first()
        if pool is None:
            raise NotFound(self.not_found_code, self.not_found)
        return pool

    def holdings(self, pool: models.Model) -> models.QuerySet:
        return self.holding_model.objects.filter(**{self.pool_field: pool})

    def held(self, pool: models.Model, *, exclude_key: str | None = None) -> int:
        qs = self.holdings(pool).filter(self.counts, status=SeatStatus.HELD)
        if exclude_key is not None:
            qs = qs.exclude(key=exclude_key)
        return qs.aggregate(total=Sum("quantity"))["total"] or 0

    def remaining(self, pool: models.Model) -> int:
        return max(getattr(pool, self.capacity_field) - self.held(pool), 0)

    def waiting(self, pool: models.Model) -> models.QuerySet:
        return self.holdings(pool).filter(status=SeatStatus.WAITING).order_by("taken_at", "id")

    # --- writing (inside the caller's transaction) ----------------------------------------

    def take(self, pool_id: Any, *, key: str, quantity: int = 1, waitlist: bool = False,
             defaults: dict | None = None) -> SeatHolding:
        """Hold `quantity` for `key` (or change what `key` holds). If it does not fit: join
        the waitlist when `waitlist`, else refuse with 409 `capacity_exceeded`."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ServiceError("invalid_quantity", _("数量必须是正整数。"))
        key = str(key)
        pool = self.lock(pool_id)
        holding = self.holdings(pool).filter(key=key).first()
        if holding is not None and holding.quantity == quantity:
            return holding  # the same request again
        free = getattr(pool, self.capacity_field) - self.held(pool, exclude_key=key)
        now = timezone.now()
        if quantity <= free and not self._queue_ahead(pool, holding):
            status = SeatStatus.HELD
        elif waitlist and (holding is None or holding.status == SeatStatus.WAITING):
            status = SeatStatus.WAITING
        else:
            raise ServiceError("capacity_exceeded", self.full(pool, max(free, 0)), status=409,
                               details={"remaining": max(free, 0)})
        if holding is None:
            try:
                with transaction.atomic():
                    holding = self.holding_model.objects.create(
                        **{self.pool_field: pool}, key=key, quantity=quantity, status=status,
                        taken_at=now, **(defaults or {}))
            except IntegrityError:  # only an app's own constraint can get here: under the lock
                raise ServiceError("already_taken", _("已经占用过了。"), status=409) from None
            return holding
        holding.quantity = quantity
        if holding.status == SeatStatus.WAITING and status == SeatStatus.HELD:
            holding.promoted_at = now
        holding.status = status
        for name, value in (defaults or {}).items():
            setattr(holding, name, value)
        holding.save()
        return holding

    def _queue_ahead(self, pool: models.Model, holding: SeatHolding | None) -> bool:
        """Nobody jumps the waitlist, even when a few places are free."""
        if holding is not None and holding.status == SeatStatus.HELD:
            return False
        ahead = self.waiting(pool)
        if holding is not None:
            ahead = ahead.filter(Q(taken_at__lt=holding.taken_at)
                                 | Q(taken_at=holding.taken_at, id__lt=holding.pk))
        return ahead.exists()

    def release(self, pool_id: Any, *, key: str) -> list[SeatHolding]:
        """Give back what `key` holds (or leave the waitlist); returns the holdings promoted.
        Releasing what is not held does nothing (a retried request)."""
        pool = self.lock(pool_id)
        self.holdings(pool).filter(key=str(key)).delete()
        return self._promote(pool)

    def promote(self, pool_id: Any) -> list[SeatHolding]:
        """After capacity grew (or a holder stopped counting), seat whoever waits."""
        return self._promote(self.lock(pool_id))

    def _promote(self, pool: models.Model) -> list[SeatHolding]:
        free = getattr(pool, self.capacity_field) - self.held(pool)
        promoted = []
        now = timezone.now()
        for holding in self.waiting(pool):
            if holding.quantity > free:
                break
            free -= holding.quantity
            holding.status, holding.promoted_at = SeatStatus.HELD, now
            holding.save(update_fields=["status", "promoted_at"])
            promoted.append(holding)
        return promoted

    def check_capacity(self, pool: models.Model, capacity: int) -> None:
        """Refuse lowering a locked pool's capacity below what is held."""
        held = self.held(pool)
        if capacity < held:
            raise ServiceError("capacity_below_held",
                               lazy_format(_("已经占用了 %(n)d，容量不能少于这个数。"), n=held),
                               status=409, details={"held": held})
