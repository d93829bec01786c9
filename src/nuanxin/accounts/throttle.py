"""Failure counters in the Django cache (local memory embedded, Redis in production).

A counter lives for `window` from its first failure; when it reaches `limit` it is set
again for a full `window`, so a lock always lasts the whole window after the last try that
caused it.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.core.cache import cache


def _key(kind: str, ident: str) -> str:
    digest = hashlib.sha256(ident.strip().lower().encode()).hexdigest()[:32]
    return f"nuanxin:fail:{kind}:{digest}"


def failure_count(kind: str, ident: str) -> int:
    return int(cache.get(_key(kind, ident), 0))


def failure_add(kind: str, ident: str, *, limit: int, window: timedelta) -> int:
    key = _key(kind, ident)
    timeout = int(window.total_seconds())
    cache.add(key, 0, timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout)
        count = 1
    if count >= limit:
        cache.set(key, count, timeout)
    return count


def failure_clear(kind: str, ident: str) -> None:
    cache.delete(_key(kind, ident))
