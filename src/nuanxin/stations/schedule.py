"""Opening hours as plain data: is a station open at a moment, and when does that change.

Pure functions over `Schedule`, so the same code serves a detail page read from the
database and the in-memory nearby index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

Span = tuple[int, int]  # minutes after local midnight; closes <= opens runs past midnight
LOOKAHEAD_DAYS = 8


@dataclass
class Schedule:
    weekly: dict[int, list[Span]] = field(default_factory=dict)
    exceptions: dict[date, list[Span]] = field(default_factory=dict)  # [] = closed all day
    campaigns: list[tuple[date, date, Span]] = field(default_factory=list)

    def spans_on(self, day: date) -> list[Span]:
        if day in self.exceptions:
            return self.exceptions[day]
        for starts_on, ends_on, span in self.campaigns:
            if starts_on <= day <= ends_on:
                return [span]
        return self.weekly.get(day.weekday(), [])


def span_interval(day: date, span: Span) -> tuple[datetime, datetime]:
    opens, closes = span
    start = datetime.combine(day, time()) + timedelta(minutes=opens)
    end_day = day if closes > opens else day + timedelta(days=1)
    return start, datetime.combine(end_day, time()) + timedelta(minutes=closes)


def open_intervals(schedule: Schedule, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """Merged open intervals (naive local time) of the spans of days first..last."""
    raw = []
    day = first
    while day <= last:
        raw.extend(span_interval(day, span) for span in schedule.spans_on(day))
        day += timedelta(days=1)
    raw.sort()
    merged: list[list[datetime]] = []
    for start, end in raw:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


@dataclass(frozen=True)
class Status:
    open_now: bool
    next_change: datetime | None  # naive local; None when nothing changes within a week


def status_at(schedule: Schedule, now: datetime) -> Status:
    """`now` is naive local time (Asia/Shanghai)."""
    today = now.date()
    intervals = open_intervals(
        schedule, today - timedelta(days=1), today + timedelta(days=LOOKAHEAD_DAYS)
    )
    horizon = datetime.combine(today + timedelta(days=LOOKAHEAD_DAYS), time())
    for start, end in intervals:
        if start <= now < end:
            return Status(True, end if end < horizon else None)
        if start > now:
            return Status(False, start)
    return Status(False, None)


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_hhmm(text: str, *, allow_24: bool = False) -> int:
    """'08:30' → 510. Raises ValueError on anything else."""
    hours, _, mins = text.strip().partition(":")
    value = int(hours) * 60 + int(mins)
    if not hours.isdigit() or not mins.isdigit() or len(mins) != 2:
        raise ValueError(text)
    limit = 24 * 60 if allow_24 else 24 * 60 - 1
    if not 0 <= value <= limit or int(mins) > 59:
        raise ValueError(text)
    return value
