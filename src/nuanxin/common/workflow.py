"""Declarative state machines and their append-only history.

A workflow is a table of allowed moves (action -> from-states -> to-state) in one place. A
service locks its row and calls `WORKFLOW.apply(obj, action, actor=...)`: the move is checked
against the table (and the action's guard), the state field changes, `on_change` sets the
timestamps that go with it, the row is saved, one history row is written, and the on-enter
hook of the new state and the move's own `after_commit` hook run after the transaction
commits (SMS, announcements: never for a
change that rolled back). Anything else is refused the same way everywhere: 409
`invalid_transition` with `state`, `action` and `allowed` in the body.

A row being created is in the pseudo-state `NEW` (""): a move from it inserts the row, so a
workflow whose first step is already a move (a swap starts by reserving or opening a door)
keeps that step in its table too.

Every workflow registers itself by name; `registered()` lists them all (apps' `services`
modules are imported to find them), so one test walks every state x action grid.

A workflow also names, in `labels`, every action code its history may hold (moves and the
notable acts `record` writes), in words a page shows. `timeline(row)` reads the history as
`TimelineEntry` rows, which the console's `console/_timeline.html` renders; a test checks
that every code written anywhere in the source (under the workflow's name, or a prefix it
names in `also_records`) has its words in both languages.

See docs/decisions/0012-workflows.md for the example a new app copies.
"""

from __future__ import annotations

import pkgutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from nuanxin.common.errors import ServiceError, lazy_format


class HistoryEntry(models.Model):
    """One row of a workflow's history: who, when, from, to, what (a dotted action code such
    as `needs.need.merged`), why, and language-neutral details a page renders.

    Append-only: a saved entry is never changed (save() refuses). Concrete models add the
    foreign key to their subject and name it in `subject_field`."""

    subject_field = ""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=60)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{getattr(self, f'{self.subject_field}_id', '?')} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError(f"{type(self).__name__} is append-only: entries are never changed")
        super().save(*args, **kwargs)


# The state of a row not saved yet: `move({NEW, ...}, ...)` is a move that creates the row.
NEW = ""


@dataclass(frozen=True)
class Change:
    """What a move is about to do (guards, on_change) or did (on-enter hooks)."""

    workflow: str
    action: str
    code: str
    from_state: str
    to_state: str
    actor: Any
    at: datetime
    data: dict = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    # A state, or a function of the row for a move back to where it came from (resume).
    target: str | Callable[[Any], str]
    code: str
    # Raises ServiceError to refuse a move the table allows but the row is not ready for.
    guard: Callable[[Any, Change], None] | None = None
    # Runs after commit for this move only (the state's on_enter hook runs for every move in).
    after_commit: Callable[[Any, Change], None] | None = None


def move(sources: Iterable[str], target: str | Callable[[Any], str], code: str, *,
         guard: Callable[[Any, Change], None] | None = None,
         after_commit: Callable[[Any, Change], None] | None = None) -> Transition:
    return Transition(frozenset(str(s) for s in sources), target, code, guard, after_commit)


_REGISTRY: dict[str, Workflow] = {}


@dataclass(frozen=True)
class TimelineEntry:
    """One history row as a page shows it: the words of its code and of its states."""

    at: datetime
    actor: Any
    code: str
    label: str
    from_state: str
    to_state: str
    from_label: str
    to_label: str
    reason: str
    data: dict

    @property
    def moved(self) -> bool:
        """The row changed the state (not a note made in passing, like "edited")."""
        return bool(self.from_state) and self.from_state != self.to_state


class Workflow:
    """States, moves, the refusal's wording, the history model of one kind of row and the
    words for each action code that history holds."""

    def __init__(
        self,
        name: str,
        *,
        states: type[models.TextChoices],
        transitions: dict[str, Transition],
        refusal: Any,
        history: type[HistoryEntry] | None,
        field: str = "status",
        on_change: Callable[[Any, Change], None] | None = None,
        on_enter: dict[str, Callable[[Any, Change], None]] | None = None,
        labels: dict[str, Any] | None = None,
        also_records: Iterable[str] = (),
    ) -> None:
        if name in _REGISTRY:
            raise ValueError(f"workflow {name!r} is registered twice")
        known = set(states.values)
        for action, t in transitions.items():
            bad = ((t.sources - {NEW}) | ({t.target} if isinstance(t.target, str) else set())
                   ) - known
            if bad:
                raise ValueError(f"{name}.{action} names unknown states {sorted(bad)}")
        for state in on_enter or {}:
            if state not in known:
                raise ValueError(f"{name}: on_enter names unknown state {state!r}")
        self.name = name
        self.states = states
        self.transitions = transitions
        self.refusal = refusal  # translatable, with %(state)s: the row's state label
        self.history = history
        self.field = field
        self.on_change = on_change
        self.on_enter = dict(on_enter or {})
        # {action code: translatable words}, for every code the history may hold.
        self.labels = dict(labels or {})
        # Codes in the history are "<name>.<act>", or "<prefix>.<act>" for the other things
        # `record` notes there (a survey's history holds its questions' edits).
        self.code_prefixes = (name, *also_records)
        _REGISTRY[name] = self

    def __repr__(self) -> str:
        return f"<Workflow {self.name}>"

    def state_of(self, obj: Any) -> str:
        return getattr(obj, self.field)

    def allowed(self, obj_or_state: Any) -> list[str]:
        """The actions allowed from the row's state (or from a state given as text)."""
        state = obj_or_state if isinstance(obj_or_state, str) else self.state_of(obj_or_state)
        return [a for a, t in self.transitions.items() if state in t.sources]

    def can(self, obj: Any, action: str) -> bool:
        t = self.transitions.get(action)
        return t is not None and self.state_of(obj) in t.sources

    def refuse(self, obj: Any, action: str) -> ServiceError:
        state = self.state_of(obj)
        label = self.states(state).label if state in self.states.values else (state or "-")
        return ServiceError(
            "invalid_transition", lazy_format(self.refusal, state=label), status=409,
            details={"state": state, "action": action, "allowed": self.allowed(state)},
        )

    def codes(self) -> set[str]:
        """The action codes this workflow's moves write (`record` may write others)."""
        return {t.code for t in self.transitions.values()}

    def label(self, code: str) -> str:
        words = self.labels.get(code)
        return str(words) if words is not None else code

    def state_label(self, state: str) -> str:
        return str(self.states(state).label) if state in self.states.values else state

    def timeline(self, obj: Any, *, newest_first: bool = False,
                 limit: int | None = None) -> list[TimelineEntry]:
        """The row's history in words, oldest first unless asked otherwise."""
        if self.history is None:
            return []
        order = ("-at", "-id") if newest_first else ("at", "id")
        entries = (self.history.objects.filter(**{self.history.subject_field: obj})
                   .select_related("actor").order_by(*order))
        if limit is not None:
            entries = entries[:limit]
        return [
            TimelineEntry(at=e.at, actor=e.actor, code=e.action, label=self.label(e.action),
                          from_state=e.from_state, to_state=e.to_state,
                          from_label=self.state_label(e.from_state),
                          to_label=self.state_label(e.to_state), reason=e.reason,
                          data=e.data or {})
            for e in entries
        ]

    def check(self, obj: Any, action: str) -> Transition:
        """The move, if the table allows it from the row's state; else the refusal."""
        if not self.can(obj, action):
            raise self.refuse(obj, action)
        return self.transitions[action]

    def apply(self, obj: Any, action: str, *, actor: Any = None, reason: str = "",
              data: dict | None = None, at: datetime | None = None,
              extra: dict | None = None) -> HistoryEntry | None:
        """Make the move on a row the caller has locked; returns the history entry.

        `extra` goes into the history row as is (a model's own columns, e.g. the actor's
        unit). Call inside the caller's transaction."""
        t = self.check(obj, action)
        from_state = self.state_of(obj)
        to_state = t.target(obj) if callable(t.target) else t.target
        if to_state not in self.states.values:
            # A target computed from the row (resume) found nothing to go back to.
            raise ValueError(f"{self.name}.{action}: no state to move to from {from_state!r}")
        change = Change(workflow=self.name, action=action, code=t.code, from_state=from_state,
                        to_state=str(to_state), actor=actor, at=at or timezone.now(),
                        data=dict(data or {}), reason=reason)
        if t.guard is not None:
            t.guard(obj, change)
        setattr(obj, self.field, change.to_state)
        if self.on_change is not None:
            self.on_change(obj, change)
        obj.save()
        entry = self.record(obj, t.code, actor=actor, from_state=from_state,
                            to_state=change.to_state, reason=reason, data=change.data,
                            at=change.at, extra=extra)
        pk = obj.pk
        for hook in (self.on_enter.get(change.to_state), t.after_commit):
            if hook is not None:
                transaction.on_commit(lambda hook=hook: hook(pk, change))
        return entry

    def record(self, obj: Any, code: str, *, actor: Any = None, from_state: str = "",
               to_state: str = "", reason: str = "", data: dict | None = None,
               at: datetime | None = None, extra: dict | None = None) -> HistoryEntry | None:
        """A history row for a notable act that is not a move (raised, edited, absorbed)."""
        if self.history is None:
            return None
        return self.history.objects.create(
            **{self.history.subject_field: obj}, actor=actor, action=code,
            from_state=from_state, to_state=to_state, reason=reason, data=data or {},
            at=at or timezone.now(), **(extra or {}),
        )


def registered() -> dict[str, Workflow]:
    """Every workflow of every installed app, by name: each app's `services` module is
    imported, and every module of it when it is a package (services/swaps.py ...)."""
    _discover()
    return dict(_REGISTRY)


@cache
def _discover() -> None:
    autodiscover_modules("services")
    for app in apps.get_app_configs():
        package = sys.modules.get(f"{app.name}.services")
        if package is not None and hasattr(package, "__path__"):
            for module in pkgutil.iter_modules(package.__path__):
                import_module(f"{package.__name__}.{module.name}")

