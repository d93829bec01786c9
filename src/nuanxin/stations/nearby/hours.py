"""Distinct schedules, shared: every station with the same week, exceptions and campaigns
points to one `Hours`, which remembers its opening status."""

from __future__ import annotations

import threading
import weakref
from bisect import insort
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from time import sleep

from django.db.models import QuerySet

from nuanxin.stations import selectors
from nuanxin.stations.models import HolidayCampaign, OpeningSpan, ScheduleException
from nuanxin.stations.schedule import Schedule, Status, status_at


class Hours:
    """One distinct schedule, shared by every station that has it (most stations share a
    handful of weekly patterns), with its opening status remembered. `key` is what it was
    made from (see hours_for): a campaign change derives a station's new key from it."""

    __slots__ = ("schedule", "key", "_status", "__weakref__")

    def __init__(self, schedule: Schedule, key: HoursKey):
        self.schedule = schedule
        self.key = key
        # (valid from, valid until, status): see status_at.
        self._status: tuple[datetime, datetime, Status] | None = None

    def status_at(self, now: datetime) -> Status:
        """`schedule.status_at(self.schedule, now)`, remembered while it cannot change.

        The answer computed at t holds for every moment from t up to its next_change on the
        same day: open stays open until the interval's end, closed stays closed until the
        next start, and the look-ahead horizon only moves at midnight."""
        cached = self._status
        if cached is not None and cached[0] <= now < cached[1]:
            return cached[2]
        status = status_at(self.schedule, now)
        until = datetime.combine(now.date() + timedelta(days=1), time())
        if status.next_change is not None and status.next_change < until:
            until = status.next_change
        self._status = (now, until, status)
        return status


# (weekly (weekday, opens, closes)..., exceptions (date, closed, opens, closes)...,
#  campaigns (starts_on, campaign id, ends_on, opens, closes)...) -> the shared Hours.
# Each part is sorted, campaigns by (starts_on, id): the order Schedule.spans_on tries
# them in, so two keys are equal exactly when the schedules are the same. The campaign's
# id is in the key so that a campaign change can find and replace its entry. Weak
# values: a schedule no station has any more goes away, so edits do not grow the table.
HoursKey = tuple[tuple, tuple, tuple]
CampaignEntry = tuple  # (starts_on, campaign id, ends_on, opens, closes)
HOURS: weakref.WeakValueDictionary[HoursKey, Hours] = weakref.WeakValueDictionary()
_hours_lock = threading.Lock()


def hours_for(key: HoursKey) -> Hours:
    hours = HOURS.get(key)
    if hours is None:
        schedule = Schedule()
        for weekday, opens, closes in key[0]:
            schedule.weekly.setdefault(weekday, []).append((opens, closes))
        for day, closed, opens, closes in key[1]:
            spans = schedule.exceptions.setdefault(day, [])
            if not closed:
                spans.append((opens, closes))
        for starts_on, _campaign, ends_on, opens, closes in key[2]:
            schedule.campaigns.append((starts_on, ends_on, (opens, closes)))
        with _hours_lock:
            hours = HOURS.setdefault(key, Hours(schedule, key))
    return hours


def with_campaign(key: HoursKey, campaign_id: int, entry: CampaignEntry | None) -> HoursKey:
    """`key` with campaign `campaign_id`'s entry replaced by `entry` (None: removed), in
    the order hours_keys reads them."""
    campaigns = [c for c in key[2] if c[1] != campaign_id]
    if entry is not None:
        insort(campaigns, entry)
    return key[0], key[1], tuple(campaigns)


def campaign_entry(campaign_id: int, row: tuple | None, today: date) -> CampaignEntry | None:
    """A campaign's entry in its stations' keys, from its (starts_on, ends_on, opens,
    closes); None when it is gone or over (the rule of hours_keys)."""
    if row is None or row[1] < today - timedelta(days=1):
        return None
    starts_on, ends_on, opens, closes = row
    return starts_on, campaign_id, ends_on, opens, closes


NO_HOURS: HoursKey = ((), (), ())


background = threading.local()


def gently(rows):
    """`rows` (a queryset: streamed), pausing for half a millisecond every 256 rows when
    read by the background thread: a CPU-bound thread keeps the interpreter lock up to
    5 ms at a time, which would add that to every step of the requests it runs beside."""
    if not getattr(background, "on", False):
        yield from rows
        return
    if isinstance(rows, QuerySet):
        rows = rows.iterator(chunk_size=2000)
    for n, row in enumerate(rows):
        if not n & 255:
            sleep(0.0005)
        yield row


def hours_keys(**station_filter) -> dict[int, HoursKey]:
    """The schedule key of every station matching `station_filter` (on station_id) that
    has any hours, in three queries; the same rules as `schedules_for`."""
    today = selectors.local_now().date()
    weekly: dict[int, list] = defaultdict(list)
    for sid, *span in gently(OpeningSpan.objects.filter(**station_filter).order_by(
            "station_id", "weekday", "opens", "closes").values_list(
            "station_id", "weekday", "opens", "closes")):
        weekly[sid].append(tuple(span))
    exceptions: dict[int, list] = defaultdict(list)
    for sid, *row in gently(ScheduleException.objects.filter(
            date__gte=today - timedelta(days=1), **station_filter).order_by(
            "station_id", "date", "opens").values_list(
            "station_id", "date", "closed", "opens", "closes")):
        exceptions[sid].append(tuple(row))
    campaigns: dict[int, list] = defaultdict(list)
    through = HolidayCampaign.stations.through
    for sid, *row in gently(through.objects.filter(
            holidaycampaign__ends_on__gte=today - timedelta(days=1), **station_filter
    ).order_by("station_id", "holidaycampaign__starts_on", "holidaycampaign_id").values_list(
            "station_id", "holidaycampaign__starts_on", "holidaycampaign_id",
            "holidaycampaign__ends_on", "holidaycampaign__opens", "holidaycampaign__closes")):
        campaigns[sid].append(tuple(row))
    return {sid: (tuple(weekly.get(sid, ())), tuple(exceptions.get(sid, ())),
                  tuple(campaigns.get(sid, ())))
            for sid in weekly.keys() | exceptions.keys() | campaigns.keys()}

