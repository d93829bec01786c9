"""The registry of figures each app contributes to dashboards (after Decidim's register_stat).

An app names in its manifest (`figures="nuanxin.needs.figures"`) a module that registers
each of its figures with a function that computes it for a region (a code prefix, "" for
everywhere) and a period, and a function that returns the records behind it, so every number
on a dashboard can be traced to what it counts. The modules are imported on the first read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from nuanxin.common.manifest import figure_modules

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


def _load_figures() -> None:
    for module in figure_modules():
        import_module(module)  # registers its figures the first time only


def registered_stats() -> dict[str, Stat]:
    _load_figures()
    return dict(_registry)


def stat(key: str) -> Stat:
    _load_figures()
    return _registry[key]
