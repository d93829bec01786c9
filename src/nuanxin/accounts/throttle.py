"""Failure counters in the database, so every worker process sees the same count.

A counter lives for `window` from its first failure; when it reaches `limit` it is set
again for a full `window`, so a lock always lasts the whole window after the last try that
caused it. Each change is one short transaction of its own: a refusal raised afterwards
must not unwind the count.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from nuanxin.accounts.models import SecurityCounter


def _key(kind: str, ident: str) -> str:
    digest = hashlib.sha256(ident.strip().lower().encode()).hexdigest()[:32]
    return f"{kind}:{digest}"


def failure_count(kind: str, ident: str) -> int:
    count = (
        SecurityCounter.objects.filter(key=_key(kind, ident), expires_at__gt=timezone.now())
        .values_list("count", flat=True)
        .first()
    )
    return count or 0


def failure_add(kind: str, ident: str, *, limit: int, window: timedelta) -> int:
    key = _key(kind, ident)
    try:
        return _add_once(key, limit=limit, window=window)
    except IntegrityError:
        # Another process inserted this key's first failure at the same moment; the row
        # exists now, so a second round locks it and counts.
        return _add_once(key, limit=limit, window=window)


@transaction.atomic
def _add_once(key: str, *, limit: int, window: timedelta) -> int:
    now = timezone.now()
    row = SecurityCounter.objects.select_for_update().filter(key=key).first()
    if row is None:
        row = SecurityCounter(key=key, count=0)
    elif row.expires_at <= now:
        row.count = 0
    if row.count == 0 or row.count + 1 >= limit:
        row.expires_at = now + window
    row.count += 1
    row.save()
    return row.count


def failure_clear(kind: str, ident: str) -> None:
    SecurityCounter.objects.filter(key=_key(kind, ident)).delete()


def hold(kind: str, ident: str) -> None:
    """Lock this identity's row until the caller's transaction ends.

    A check-then-write on an identity (the SMS resend limits: look at the last code, then
    issue one) takes turns across processes this way instead of both passing the check."""
    key = _key(kind, ident)
    SecurityCounter.objects.get_or_create(
        key=key, defaults={"expires_at": timezone.now() + timedelta(days=1)}
    )
    SecurityCounter.objects.select_for_update().filter(key=key).first()


def purge_expired() -> int:
    deleted, _ = SecurityCounter.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
