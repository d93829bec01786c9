"""Opening hours as pure data: status_at and open_intervals, no database."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nuanxin.stations.schedule import (
    Schedule,
    format_minutes,
    open_intervals,
    parse_hhmm,
    status_at,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
# 2026-03-02 is a Monday.
MONDAY = date(2026, 3, 2)
assert MONDAY.weekday() == MON


def at(day_offset: int, hhmm: str) -> datetime:
    """A naive local moment `day_offset` days after MONDAY."""
    h, m = map(int, hhmm.split(":"))
    return datetime(MONDAY.year, MONDAY.month, MONDAY.day) + timedelta(days=day_offset, hours=h,
                                                                       minutes=m)


def hm(text: str) -> int:
    return parse_hhmm(text, allow_24=True)


def every_day(opens: str, closes: str) -> Schedule:
    return Schedule(weekly={d: [(hm(opens), hm(closes))] for d in range(7)})


# --- an ordinary day -------------------------------------------------------------------------


def test_ordinary_day():
    s = every_day("08:30", "20:00")
    before = status_at(s, at(0, "07:00"))
    assert (before.open_now, before.next_change) == (False, at(0, "08:30"))
    opening = status_at(s, at(0, "08:30"))
    assert (opening.open_now, opening.next_change) == (True, at(0, "20:00"))
    assert status_at(s, at(0, "19:59")) == opening
    closing = status_at(s, at(0, "20:00"))
    assert (closing.open_now, closing.next_change) == (False, at(1, "08:30"))


def test_weekdays_only_skips_the_weekend():
    s = Schedule(weekly={d: [(hm("09:00"), hm("17:00"))] for d in range(5)})
    friday_evening = status_at(s, at(FRI, "18:00"))
    assert (friday_evening.open_now, friday_evening.next_change) == (False, at(7, "09:00"))
    assert status_at(s, at(SAT, "12:00")).open_now is False


def test_never_open():
    status = status_at(Schedule(), at(0, "12:00"))
    assert (status.open_now, status.next_change) == (False, None)


# --- overnight and round the clock ---------------------------------------------------------


def test_overnight_span_runs_into_the_next_day():
    s = Schedule(weekly={MON: [(hm("16:00"), hm("02:00"))]})
    assert status_at(s, at(0, "15:59")) .open_now is False
    evening = status_at(s, at(0, "23:00"))
    assert (evening.open_now, evening.next_change) == (True, at(1, "02:00"))
    after_midnight = status_at(s, at(1, "01:00"))  # Tuesday 01:00, from Monday's span
    assert (after_midnight.open_now, after_midnight.next_change) == (True, at(1, "02:00"))
    closed = status_at(s, at(1, "03:00"))
    assert (closed.open_now, closed.next_change) == (False, at(7, "16:00"))
    assert status_at(s, at(1, "02:00")).open_now is False


def test_overnight_every_day_merges_across_midnight():
    s = every_day("16:00", "02:00")
    status = status_at(s, at(2, "01:30"))
    assert (status.open_now, status.next_change) == (True, at(2, "02:00"))
    assert open_intervals(s, MONDAY, MONDAY + timedelta(days=1)) == [
        (at(0, "16:00"), at(1, "02:00")),
        (at(1, "16:00"), at(2, "02:00")),
    ]


def test_round_the_clock_every_day_never_changes():
    s = every_day("00:00", "24:00")
    for moment in (at(0, "00:00"), at(3, "13:37"), at(6, "23:59")):
        status = status_at(s, moment)
        assert (status.open_now, status.next_change) == (True, None)


def test_round_the_clock_with_a_closed_day_ahead():
    s = every_day("00:00", "24:00")
    s.exceptions[MONDAY + timedelta(days=3)] = []
    status = status_at(s, at(0, "10:00"))
    assert (status.open_now, status.next_change) == (True, at(3, "00:00"))
    during = status_at(s, at(3, "10:00"))
    assert (during.open_now, during.next_change) == (False, at(4, "00:00"))


def test_sunday_overnight_wraps_into_monday():
    s = Schedule(weekly={SUN: [(hm("22:00"), hm("06:00"))]})
    sunday_night = status_at(s, at(SUN, "23:00"))
    assert (sunday_night.open_now, sunday_night.next_change) == (True, at(7, "06:00"))
    monday_morning = status_at(s, at(7, "05:00"))  # the next Monday
    assert (monday_morning.open_now, monday_morning.next_change) == (True, at(7, "06:00"))
    # The Monday *before* that Sunday is reached from the previous Sunday's span too.
    assert status_at(s, at(0, "05:59")).open_now is True
    later = status_at(s, at(0, "06:00"))
    assert (later.open_now, later.next_change) == (False, at(SUN, "22:00"))


def test_sunday_late_next_change_is_monday():
    s = Schedule(weekly={MON: [(hm("08:00"), hm("18:00"))]})
    status = status_at(s, at(SUN, "23:30"))
    assert (status.open_now, status.next_change) == (False, at(7, "08:00"))


def test_split_spans():
    s = Schedule(weekly={MON: [(hm("14:00"), hm("18:00")), (hm("08:00"), hm("12:00"))]})
    assert status_at(s, at(0, "11:59")).next_change == at(0, "12:00")
    lunch = status_at(s, at(0, "12:00"))
    assert (lunch.open_now, lunch.next_change) == (False, at(0, "14:00"))
    afternoon = status_at(s, at(0, "15:00"))
    assert (afternoon.open_now, afternoon.next_change) == (True, at(0, "18:00"))
    assert open_intervals(s, MONDAY, MONDAY) == [
        (at(0, "08:00"), at(0, "12:00")),
        (at(0, "14:00"), at(0, "18:00")),
    ]


def test_touching_spans_merge():
    s = Schedule(weekly={MON: [(hm("08:00"), hm("12:00")), (hm("12:00"), hm("18:00"))]})
    status = status_at(s, at(0, "11:00"))
    assert (status.open_now, status.next_change) == (True, at(0, "18:00"))


# --- exceptions and campaigns --------------------------------------------------------------


def test_closed_all_day_exception():
    s = every_day("08:00", "20:00")
    s.exceptions[MONDAY + timedelta(days=WED)] = []
    wednesday = status_at(s, at(WED, "12:00"))
    assert (wednesday.open_now, wednesday.next_change) == (False, at(THU, "08:00"))
    tuesday_evening = status_at(s, at(TUE, "20:00"))
    assert tuesday_evening.next_change == at(THU, "08:00")


def test_special_hours_exception():
    s = every_day("08:00", "20:00")
    s.exceptions[MONDAY + timedelta(days=TUE)] = [(hm("10:00"), hm("14:00"))]
    assert status_at(s, at(TUE, "09:00")) == status_at(s, at(TUE, "09:30"))
    early = status_at(s, at(TUE, "09:00"))
    assert (early.open_now, early.next_change) == (False, at(TUE, "10:00"))
    assert status_at(s, at(TUE, "13:00")).next_change == at(TUE, "14:00")
    assert status_at(s, at(TUE, "15:00")).open_now is False
    assert status_at(s, at(WED, "15:00")).open_now is True


def test_campaign_overrides_weekly_hours():
    """春节"不打烊": a station closed at weekends stays open round the clock through the
    campaign's days, and goes back to its weekly hours after."""
    s = Schedule(weekly={d: [(hm("09:00"), hm("17:00"))] for d in range(5)})
    s.campaigns.append((MONDAY + timedelta(days=SAT), MONDAY + timedelta(days=SUN),
                        (0, 24 * 60)))
    saturday = status_at(s, at(SAT, "03:00"))
    assert (saturday.open_now, saturday.next_change) == (True, at(7, "00:00"))
    friday_night = status_at(s, at(FRI, "22:00"))
    assert (friday_night.open_now, friday_night.next_change) == (False, at(SAT, "00:00"))
    assert status_at(s, at(7, "08:00")).next_change == at(7, "09:00")
    # On a weekday inside a campaign the campaign's hours replace the weekly ones.
    s.campaigns.append((MONDAY, MONDAY, (hm("06:00"), hm("22:00"))))
    assert status_at(s, at(0, "18:00")).open_now is True


def test_exception_overrides_campaign():
    s = every_day("09:00", "17:00")
    s.campaigns.append((MONDAY, MONDAY + timedelta(days=6), (0, 24 * 60)))
    s.exceptions[MONDAY + timedelta(days=2)] = []  # closed on Wednesday despite the campaign
    s.exceptions[MONDAY + timedelta(days=4)] = [(hm("10:00"), hm("12:00"))]
    assert status_at(s, at(1, "23:00")).next_change == at(2, "00:00")
    assert status_at(s, at(2, "12:00")).open_now is False
    assert status_at(s, at(4, "09:00")).open_now is False
    assert status_at(s, at(4, "11:00")).open_now is True
    assert status_at(s, at(5, "03:00")).open_now is True


# --- formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "minutes"), [("00:00", 0), ("08:30", 510), ("23:59", 1439)])
def test_parse_and_format(text, minutes):
    assert parse_hhmm(text) == minutes
    assert format_minutes(minutes) == text


def test_parse_24_only_when_allowed():
    assert parse_hhmm("24:00", allow_24=True) == 1440
    with pytest.raises(ValueError):
        parse_hhmm("24:00")


@pytest.mark.parametrize("text", ["", "8", "8:5", "08:60", "25:00", "-1:00", "ab:cd", "08:30:00",
                                  "24:01", "0x1:00", " : "])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        parse_hhmm(text, allow_24=True)


# --- property: open_now agrees with the intervals ------------------------------------------

minutes = st.integers(min_value=0, max_value=24 * 60 - 1)
span = st.tuples(minutes, st.integers(min_value=1, max_value=24 * 60)).filter(
    lambda s: s[0] != s[1]
)
day_offsets = st.integers(min_value=-3, max_value=12)


@st.composite
def schedules(draw):
    weekly = draw(st.dictionaries(st.integers(0, 6), st.lists(span, max_size=3), max_size=7))
    exceptions = {
        MONDAY + timedelta(days=off): spans
        for off, spans in draw(st.dictionaries(day_offsets, st.lists(span, max_size=2),
                                               max_size=4)).items()
    }
    campaigns = [
        (MONDAY + timedelta(days=start), MONDAY + timedelta(days=start + length), s)
        for start, length, s in draw(st.lists(
            st.tuples(day_offsets, st.integers(0, 4), span), max_size=2))
    ]
    return Schedule(weekly=weekly, exceptions=exceptions, campaigns=campaigns)


moments = st.builds(
    lambda d, m: datetime.combine(MONDAY, datetime.min.time()) + timedelta(days=d, minutes=m),
    st.integers(min_value=0, max_value=7), minutes,
)


def inside(intervals, moment) -> bool:
    return any(start <= moment < end for start, end in intervals)


@settings(max_examples=400, deadline=None)
@given(schedule=schedules(), now=moments)
def test_open_now_matches_the_intervals(schedule, now):
    status = status_at(schedule, now)
    intervals = open_intervals(schedule, now.date() - timedelta(days=2),
                               now.date() + timedelta(days=2))
    assert status.open_now == inside(intervals, now)


@settings(max_examples=400, deadline=None)
@given(schedule=schedules(), now=moments)
def test_next_change_is_the_first_change(schedule, now):
    status = status_at(schedule, now)
    if status.next_change is None:
        # Nothing changes for a week: the same state at every hour of the coming week.
        for hour in range(0, 7 * 24):
            later = now + timedelta(hours=hour)
            assert status_at(schedule, later).open_now == status.open_now, later
        return
    change = status.next_change
    assert change > now
    assert status_at(schedule, change).open_now != status.open_now
    # No change in between: check every minute boundary where a span could start or end.
    intervals = open_intervals(schedule, now.date() - timedelta(days=2),
                               change.date() + timedelta(days=2))
    for start, end in intervals:
        for edge in (start, end):
            if now < edge < change:
                assert inside(intervals, edge) == status.open_now, edge
    assert inside(intervals, change - timedelta(minutes=1)) == status.open_now
