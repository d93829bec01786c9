"""Names for what a need points at in other apps (a project), without needs importing them.

An app that attaches needs registers, from its AppConfig.ready(), a function that turns
the references it wrote (`project_ref`) into names a person can read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Labeller = Callable[[list[str]], dict[str, str]]

_labellers: dict[str, Labeller] = {}


def register_ref_labeller(prefix: str, labeller: Labeller) -> None:
    _labellers[prefix] = labeller


def ref_labels(refs: Iterable[str]) -> dict[str, str]:
    """Reference → readable name, for the references some registered app knows."""
    wanted = {ref for ref in refs if ref}
    labels: dict[str, str] = {}
    for prefix, labeller in _labellers.items():
        mine = [ref for ref in wanted if ref.startswith(prefix)]
        if mine:
            labels.update(labeller(mine))
    return labels
