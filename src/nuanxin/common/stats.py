"""The registry of figures each app contributes to dashboards (after Decidim's register_stat).

An app registers, from its AppConfig.ready(), a figure with a function that computes it for
a region (a code prefix, "" for everywhere) and a period, and a function that returns the
records behind it, so every number on a dashboard can be traced to what it counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Compute = Callable[[str, datetime | None, datetime | None], float | int | None]
Records = Callable[[str, datetime | None, datetime | None], Any]


@dataclass(frozen=True)
class Stat:
    key: str
    label: Any  # a lazy translation
    compute: Compute
    records: Records | None = None
    unit: str = ""


_registry: dict[str, Stat] = {}


def register_stat(key: str, *, label, compute: Compute, records: Records | None = None,
                  unit: str = "") -> None:
    existing = _registry.get(key)
    if existing is not None and existing.compute is not compute:
        raise ValueError(f"a statistic named {key!r} is already registered")
    _registry[key] = Stat(key, label, compute, records, unit)


def registered_stats() -> dict[str, Stat]:
    return dict(_registry)


def stat(key: str) -> Stat:
    return _registry[key]
