"""Pure rules shared by the services, the answering page and the API: which questions a
respondent is shown, given the options they chose so far. No database access here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class QuestionShape:
    """What the display rule needs to know about one question."""

    id: int
    position: int
    show_if: int | None = None
    show_if_options: frozenset[int] = field(default_factory=frozenset)


def shown_question_ids(questions: Iterable[QuestionShape],
                       chosen: Mapping[int, set[int]]) -> set[int]:
    """Questions shown to a respondent whose ticked options are `chosen` (question id
    → option ids). A conditional question is shown when its source question is shown and one
    of the listed options was ticked there; ticks on a hidden question do not count, so a
    chain of conditions collapses when an early answer changes."""
    shown: set[int] = set()
    for q in sorted(questions, key=lambda q: q.position):
        if q.show_if is None or (q.show_if in shown
                                 and chosen.get(q.show_if, set()) & q.show_if_options):
            shown.add(q.id)
    return shown


def shapes_of(questions) -> list[QuestionShape]:
    """QuestionShape for model instances whose `show_if_options` are prefetched."""
    return [QuestionShape(q.id, q.position, q.show_if_id,
                          frozenset(o.id for o in q.show_if_options.all()))
            for q in questions]
