"""Station changes reach the nearby index of every process without a full reload.

A second process (tests/stations/nearby_peer.py) edits stations through the services
(moves, renames, amenities, hours, dated exceptions, campaigns, deactivation, deletion,
new stations) and answers searches from its own index. After every edit, searches in
this process and in the other must equal a brute-force scan of what the database holds
now; each process loads its index once and then applies the changes in place.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nuanxin.accounts.models import User
from nuanxin.geo.spatial import haversine_m
from nuanxin.stations import selectors, services
from nuanxin.stations.amenities import AMENITIES, bits_for
from nuanxin.stations.models import HolidayCampaign, Station
from nuanxin.stations.nearby import changes, hours, search
from nuanxin.stations.nearby.index import NearbyIndex
from nuanxin.stations.schedule import status_at
from tests.factories.people import SuperuserFactory
from tests.stations.test_nearby import (
    CAMPAIGN,
    CENTRE,
    EXCEPTION_DAY,
    HOURS,
    LAYOUT,
    MONDAY,
    NOWS,
    YIJIASHAN,
    H,
    write_stations,
)

ROOT = Path(__file__).resolve().parents[2]
CODES = sorted(AMENITIES)
# A third of the layout: the dense patch around 义驾山 and some on cell borders.
STATIONS = LAYOUT[:330:3]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return (f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:"
            f"{s['PORT'] or 5432}/{s['NAME']}")


class Peer:
    """The other process."""

    def __init__(self):
        env = {**os.environ, "DATABASE_URL": database_url(),
               "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.stations.nearby_peer"],
                                     cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def ask(self, command: dict):
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the peer process died (see its stderr above)"
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def fresh_process(monkeypatch):
    """This process as if just started: no index yet, no rebuild running."""
    changes.wait_for_rebuild()
    monkeypatch.setattr(changes, "_index", None)
    monkeypatch.setattr(changes, "_rebuild", changes._Rebuild())


@pytest.fixture
def field(regions, fresh_process):
    """The stations, committed (other processes see them), a campaign, an editor."""
    rows = write_stations(STATIONS)
    campaign = HolidayCampaign.objects.get()
    admin = SuperuserFactory()
    return {"ids": [r["id"] for r in rows], "campaign": campaign.pk, "user": admin.pk}


@pytest.fixture
def peer(field):
    peer = Peer()
    yield peer
    peer.close()


def brute_force(*, lat, lng, limit, radius_m, required_bits=0, open_now=False, now):
    """Every active station in the database now, filtered and sorted the obvious way."""
    rows = list(Station.objects.filter(is_active=True)
                .values_list("id", "name", "lat", "lng", "amenity_bits"))
    schedules = selectors.schedules_for([r[0] for r in rows])
    found = []
    for sid, name, slat, slng, bits in rows:
        if bits & required_bits != required_bits:
            continue
        distance = haversine_m(lat, lng, slat, slng)
        if distance > radius_m:
            continue
        status = status_at(schedules[sid], now)
        if open_now and not status.open_now:
            continue
        found.append((distance, sid, name, status))
    found.sort(key=lambda f: (f[0], f[1]))
    return [[sid, d, name, s.open_now, s.next_change.isoformat() if s.next_change else None]
            for d, sid, name, s in found[:limit]]


def here(query: dict) -> list:
    return [[h.station.id, h.distance_m, h.station.name, h.status.open_now,
             h.status.next_change.isoformat() if h.status.next_change else None]
            for h in search.stations_nearby(**query)]


def random_query(rng: random.Random) -> dict:
    return {"lat": CENTRE[0] + rng.uniform(-0.04, 0.04),
            "lng": CENTRE[1] + rng.uniform(-0.04, 0.04),
            "limit": rng.choice([1, 3, 10, 10, 50]),
            "radius_m": rng.choice([300, 1_000, 3_000, 20_000]),
            "required_bits": bits_for(rng.sample(CODES, rng.choice([0, 0, 1, 2]))),
            "open_now": rng.random() < 0.4, "now": rng.choice(NOWS)}


def check_both(peer: Peer, rng: random.Random, n: int = 6) -> None:
    for _ in range(n):
        query = random_query(rng)
        expected = brute_force(**query)
        assert here(query) == expected
        assert peer.ask({"op": "query", **query, "now": query["now"].isoformat()}) == expected


def near_point(rng: random.Random) -> tuple[float, float]:
    return (round(CENTRE[0] + rng.uniform(-0.03, 0.03), 6),
            round(CENTRE[1] + rng.uniform(-0.03, 0.03), 6))


def random_change(rng: random.Random, ids: list[int]) -> list:
    sid = rng.choice(ids)
    kind = rng.choice(["move", "move", "amenities", "amenities", "rename", "hours", "hours",
                       "exception", "active", "campaign_add", "campaign_remove", "delete",
                       "create"])
    if kind == "move":
        return ["move", sid, *near_point(rng)]
    if kind == "amenities":
        return ["amenities", sid, rng.sample(CODES, rng.randint(0, 5))]
    if kind == "rename":
        return ["rename", sid, f"改名站{rng.randint(1, 999)}"]
    if kind == "hours":
        return ["hours", sid, HOURS[rng.choice(sorted(h for h in HOURS if h != "weekend_night"))]]
    if kind == "exception":
        return ["exception", sid, rng.choice(["closed", [10 * 60, 11 * 60], [22 * 60, 3 * 60]]),
                EXCEPTION_DAY.isoformat()]
    if kind == "active":
        return ["active", sid, rng.random() < 0.5]
    if kind in ("campaign_add", "campaign_remove", "delete"):
        return [kind, sid]
    return ["create", *near_point(rng), rng.sample(CODES, rng.randint(0, 4))]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False), edits=st.integers(1, 5))
def test_edits_from_another_process_keep_both_indexes_exact(field, peer, monkeypatch, rng,
                                                            edits):
    """Random edits in the other process; both processes answer like a full scan at
    once, and neither reloads its whole index for them."""
    here({"lat": CENTRE[0], "lng": CENTRE[1], "limit": 1, "radius_m": 10, "now": NOWS[0]})
    loads = []
    real_load = NearbyIndex.load.__func__
    monkeypatch.setattr(NearbyIndex, "load",
                        classmethod(lambda cls, v: loads.append(v) or real_load(cls, v)))
    for _ in range(edits):
        change = random_change(rng, field["ids"])
        assert peer.ask({"op": "edit", "user": field["user"], "campaign": field["campaign"],
                         "changes": [change]}) == "ok"
        check_both(peer, rng)
    assert loads == []


def test_many_edits_keep_memory_flat(field, peer):
    """Moves, hours and amenities changes reuse the stations' slots: the arrays do not
    grow, and schedules no station has any more are let go."""
    rng = random.Random(5)
    here({"lat": CENTRE[0], "lng": CENTRE[1], "limit": 1, "radius_m": 10, "now": NOWS[0]})
    index = changes._index
    slots = len(index.ids)
    edits = []
    for i in range(100):
        sid = field["ids"][i % len(field["ids"])]
        edits.append(["move", sid, *near_point(rng)] if i % 3 == 0 else
                     ["hours", sid, [[w, 6 * 60 + i, 20 * 60] for w in range(7)]]
                     if i % 3 == 1 else ["amenities", sid, rng.sample(CODES, 3)])
    for change in edits:
        peer.ask({"op": "edit", "user": field["user"], "changes": [change]})
        here({"lat": CENTRE[0], "lng": CENTRE[1], "limit": 5, "radius_m": 5_000,
              "now": NOWS[2]})
    assert changes._index is index  # brought forward in place, never rebuilt
    assert len(index.ids) == slots
    assert len(index) == Station.objects.filter(is_active=True).count()
    # Distinct schedules alive: those the stations have now, not one per edit made.
    import gc

    gc.collect()
    assert len(hours.HOURS) <= len({id(h) for h in index.hours if h is not None}) + 1
    check_both(peer, rng, n=10)


def test_a_change_is_seen_by_the_next_request_in_another_process(field, peer):
    admin = User.objects.get(pk=field["user"])
    query = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 3, "radius_m": 50,
             "required_bits": 0, "open_now": False, "now": NOWS[2].isoformat()}
    before = peer.ask({"op": "query", **query})  # the other process has its index now
    station = services.station_create(user=admin, data=services.StationData(
        name="刚建的驿站", type="post", region_code=YIJIASHAN, lat=CENTRE[0], lng=CENTRE[1]))
    after = peer.ask({"op": "query", **query})
    assert [h[0] for h in after] == [station.pk] + [h[0] for h in before][:2]
    assert after[0][1:3] == [0.0, "刚建的驿站"]

    services.station_set_hours(user=admin, station_id=station.pk, spans=[])
    assert station.pk not in [h[0] for h in peer.ask({"op": "query", **query,
                                                      "open_now": True})]
    services.station_update(user=admin, station_id=station.pk, data=services.StationData(
        name="刚建的驿站", type="post", region_code=YIJIASHAN, lat=CENTRE[0], lng=CENTRE[1],
        is_active=False))
    assert peer.ask({"op": "query", **query}) == before


def test_a_bulk_change_rebuilds_in_the_background(field, peer, monkeypatch):
    """An import's worth of changes is one log row; the index is rebuilt in a thread
    while searches keep answering, exactly, from the index of the version before."""
    query = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 10, "radius_m": 5_000,
             "now": NOWS[2]}
    before = here(query)
    assert before == brute_force(**query)
    release = threading.Event()
    real_load = NearbyIndex.load.__func__

    def slow_load(cls, version):
        if threading.current_thread().name == "nearby-index-rebuild":
            assert release.wait(30)
        return real_load(cls, version)

    monkeypatch.setattr(NearbyIndex, "load", classmethod(slow_load))
    toilet = bits_for(["toilet"])
    assert peer.ask({"op": "edit", "user": field["user"],
                     "changes": [["bulk", field["ids"], toilet]]}) == "ok"
    filtered = {**query, "required_bits": toilet}
    after = brute_force(**filtered)
    assert len(after) == 10
    # While the new index builds: answers from the previous version, and no waiting.
    for _ in range(3):
        assert here(query) == before
    assert here(filtered) != after
    # A single edit meanwhile waits for the rebuild too (it cannot be applied alone).
    peer.ask({"op": "edit", "user": field["user"],
              "changes": [["rename", field["ids"][0], "改名了"]]})
    assert here(query) == before
    release.set()
    changes.wait_for_rebuild(30)
    assert here(filtered) == brute_force(**filtered)
    assert here(query) == brute_force(**query)
    # The other process: rebuilt too (it may still be at it).
    command = {"op": "query", **filtered, "now": filtered["now"].isoformat()}
    for _ in range(200):
        if peer.ask(command) == brute_force(**filtered):
            break
    assert peer.ask(command) == brute_force(**filtered)


def test_a_campaign_over_many_stations_is_applied_in_the_background(field, peer,
                                                                   monkeypatch):
    """Many listed stations (one log row) are read in the background and applied to the
    index in one step; until then searches answer from the version before. No reload."""
    query = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 10, "radius_m": 5_000,
             "now": NOWS[2]}
    before = here(query)
    index = changes._index
    release = threading.Event()
    real_read = changes.read_stations

    def slow_read(ids):
        if threading.current_thread().name == "nearby-index-rebuild":
            assert release.wait(30)
        return real_read(ids)

    monkeypatch.setattr(changes, "read_stations", slow_read)
    monkeypatch.setattr(changes, "SYNC_CHANGES", 20)
    loads = []
    monkeypatch.setattr(NearbyIndex, "load",
                        classmethod(lambda cls, v: loads.append(v)))
    wifi = bits_for(["wifi"])
    # A quarter of the stations: more (a third of the index) would load a new index.
    listed = field["ids"][:len(field["ids"]) // 4]
    assert peer.ask({"op": "edit", "user": field["user"],
                     "changes": [["bulk_listed", listed, wifi]]}) == "ok"
    filtered = {**query, "required_bits": wifi}
    assert here(query) == before
    assert here(filtered) != brute_force(**filtered)
    release.set()
    changes.wait_for_rebuild(30)
    assert here(filtered) == brute_force(**filtered)
    assert {h[0] for h in here({**filtered, "limit": 50, "radius_m": 20_000})} >= set(listed)
    assert here(query) == brute_force(**query)
    assert changes._index is index and loads == []


def test_a_search_that_overlaps_an_update_is_repeated(field, monkeypatch):
    """Readers take no lock: a search during which the index changed is done again, so
    its answer is that of one version (here the new one), never a mixture."""
    admin = User.objects.get(pk=field["user"])
    query = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 5, "radius_m": 3_000,
             "now": NOWS[2]}
    here(query)
    sid = field["ids"][0]
    station = Station.objects.get(pk=sid)
    real = search._search_neighbours
    calls = []

    def during(index, *args):
        calls.append(1)
        if len(calls) == 1:
            # Another thread applies a move while this search runs.
            services.station_update(user=admin, station_id=sid, data=services.StationData(
                name=station.name, type=station.type, region_code=YIJIASHAN,
                lat=CENTRE[0] + 0.0001, lng=CENTRE[1]))
            worker = threading.Thread(target=changes.nearby_index)
            worker.start()
            worker.join()
        return real(index, *args)

    monkeypatch.setattr(search, "_search_neighbours", during)
    hits = here(query)
    assert len(calls) >= 2
    assert hits == brute_force(**query)
    assert hits[0][0] == sid


def test_a_process_far_behind_the_log_rebuilds(field, monkeypatch):
    """Old log rows are pruned; a process whose next change is gone rebuilds (in the
    background) instead of missing it."""
    admin = User.objects.get(pk=field["user"])
    query = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 5, "radius_m": 3_000,
             "now": NOWS[2]}
    here(query)
    sid = field["ids"][0]
    station = Station.objects.get(pk=sid)
    services.station_update(user=admin, station_id=sid, data=services.StationData(
        name="很远的改动", type=station.type, region_code=YIJIASHAN, lat=CENTRE[0],
        lng=CENTRE[1]))
    from nuanxin.stations.models import StationChange

    StationChange.objects.all().delete()
    here(query)  # finds the gap, starts the rebuild
    changes.wait_for_rebuild(30)
    assert here(query) == brute_force(**query)
    assert here(query)[0][2] == "很远的改动"


def test_a_search_that_keeps_overlapping_updates_finishes_under_the_lock(field, monkeypatch):
    """After three overlapped tries the search runs under the writers' lock, and may still
    remember a cell's nearest stations there (it once waited for itself forever)."""
    query = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 5, "radius_m": 3_000,
             "now": NOWS[2]}
    here(query)
    index = changes._index
    index.neighbours.clear()
    real = search._ring_search
    tries = []

    def busy(*args):
        tries.append(1)
        if len(tries) <= 3:
            index.generation += 2  # an update ran meanwhile
        return real(*args)

    monkeypatch.setattr(search, "_ring_search", busy)
    answers = []
    worker = threading.Thread(target=lambda: answers.append(here(query)), daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "the search waited for its own lock"
    assert answers == [brute_force(**query)]
    assert len(tries) >= 4 and index.neighbours


def test_a_request_that_read_the_counter_before_another_thread_caught_up_keeps_the_index(
        field, monkeypatch):
    """Threads of one process race: one reads the counter, another brings the index past
    that version first. The first must answer from the (newer) index, not load a whole
    new one: in the server at 220,000 stations that race reloaded the index every few
    seconds under edits and each worker grew by 70-80 MB over 100 edits."""
    admin = User.objects.get(pk=field["user"])
    query = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 5, "radius_m": 3_000,
             "now": NOWS[2]}
    here(query)
    index = changes._index
    sid = field["ids"][0]
    station = Station.objects.get(pk=sid)
    real_version = changes.current_index_version
    raced = []

    def read_then_race(db=None):
        version = real_version(db)
        if not raced and threading.current_thread() is threading.main_thread():
            raced.append(version)
            services.station_update(user=admin, station_id=sid, data=services.StationData(
                name="抢先一步", type=station.type, region_code=YIJIASHAN, lat=CENTRE[0],
                lng=CENTRE[1]))
            other = threading.Thread(target=changes.nearby_index)
            other.start()
            other.join()
            assert changes._index.version > version
        return version

    loads = []
    real_load = NearbyIndex.load.__func__
    monkeypatch.setattr(NearbyIndex, "load",
                        classmethod(lambda cls, v: loads.append(v) or real_load(cls, v)))
    monkeypatch.setattr(changes, "current_index_version", read_then_race)
    assert here(query) == brute_force(**query)
    assert raced
    assert changes._index is index
    assert loads == []
    assert here(query)[0][2] == "抢先一步"


# --- campaigns ---------------------------------------------------------------------------
# A campaign change is one log row naming the campaign; every process applies it from the
# campaign's row and members, re-pointing the listed stations' shared hours, without
# reading the stations and without loading a new index, however many stations it touches.

CAMPAIGN_SPANS = [(0, 24 * H), (20 * H, 4 * H), (10 * H, 12 * H), (6 * H, 22 * H)]


def campaign_days(rng: random.Random) -> list[str]:
    """Dates over the moments the queries ask about (NOWS), so campaigns decide answers;
    starts on a few days only, so campaigns often start together (then the lower id
    wins: the order the index keeps them in)."""
    starts_on = MONDAY + timedelta(days=rng.choice([-1, 0, 1, 4, 4, 5]))
    return [starts_on.isoformat(), (starts_on + timedelta(days=rng.randint(0, 4))).isoformat()]


def random_campaign_change(rng: random.Random, ids: list[int]) -> list:
    kind = rng.choice(["campaign_create", "campaign_create", "campaign_set", "campaign_set",
                       "campaign_update", "campaign_update", "campaign_delete"])
    members = rng.sample(ids, rng.randint(0, len(ids) // 2))
    if kind == "campaign_create":
        return [kind, f"活动{rng.randint(1, 999)}", *campaign_days(rng),
                *rng.choice(CAMPAIGN_SPANS), members]
    which = rng.randrange(10)
    if kind == "campaign_set":
        return [kind, which, members]
    if kind == "campaign_update":
        return [kind, which, *campaign_days(rng), *rng.choice(CAMPAIGN_SPANS)]
    return [kind, which]


def keys_of(index: NearbyIndex) -> dict[int, tuple]:
    return {sid: index.hours[slot].key for sid, slot in index.slot_of.items()}


@pytest.fixture
def spied(monkeypatch):
    """Index loads and the stations read by id, in this process."""
    seen = {"loads": [], "read": []}
    real_load = NearbyIndex.load.__func__
    monkeypatch.setattr(NearbyIndex, "load", classmethod(
        lambda cls, v: seen["loads"].append(v) or real_load(cls, v)))
    real_read = changes.read_stations
    monkeypatch.setattr(changes, "read_stations",
                        lambda ids: seen["read"].extend(ids) or real_read(ids))
    return seen


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False), edits=st.integers(1, 6))
def test_campaign_changes_from_another_process_keep_both_indexes_exact(field, peer, spied,
                                                                       rng, edits):
    """Campaigns created, switched, edited and deleted in the other process, with station
    edits between them; both processes answer like a full scan at once. This process
    reads no station for a campaign change and loads no index."""
    here({"lat": CENTRE[0], "lng": CENTRE[1], "limit": 1, "radius_m": 10, "now": NOWS[0]})
    spied["loads"].clear()
    index = changes._index
    for _ in range(edits):
        campaign_change = rng.random() < 0.7
        change = (random_campaign_change(rng, field["ids"]) if campaign_change
                  else random_change(rng, field["ids"]))
        spied["read"].clear()
        assert peer.ask({"op": "edit", "user": field["user"], "campaign": field["campaign"],
                         "changes": [change]}) == "ok"
        check_both(peer, rng)
        if campaign_change:
            assert spied["read"] == [], change
    assert changes._index is index and spied["loads"] == []


def test_after_campaign_changes_the_hours_keys_equal_a_fresh_load(field, peer, spied):
    """The keys derived in memory (a campaign's entry put in, replaced, taken out) are
    exactly those a fresh load reads, for every station: same entries, same order."""
    rng = random.Random(11)
    here({"lat": CENTRE[0], "lng": CENTRE[1], "limit": 1, "radius_m": 10, "now": NOWS[0]})
    index = changes._index
    spied["loads"].clear()
    for _ in range(25):
        peer.ask({"op": "edit", "user": field["user"],
                  "changes": [random_campaign_change(rng, field["ids"])]})
        here({"lat": CENTRE[0], "lng": CENTRE[1], "limit": 1, "radius_m": 10, "now": NOWS[0]})
    assert HolidayCampaign.objects.count() > 2  # several campaigns, some starting together
    assert changes._index is index and spied["loads"] == [] and spied["read"] == []
    fresh = NearbyIndex.load(index.version)
    assert keys_of(index) == keys_of(fresh)
    assert any(len(key[2]) > 1 for key in keys_of(index).values())


def test_a_campaign_change_is_seen_by_the_next_request_in_another_process(field, peer):
    """This process writes through the services; the other one's next request answers
    with the change (campaigns decide who is open at 3 a.m. on a campaign day)."""
    admin = User.objects.get(pk=field["user"])
    at_night = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 50, "radius_m": 20_000,
                "required_bits": 0, "open_now": True, "now": NOWS[5]}
    command = {"op": "query", **at_night, "now": NOWS[5].isoformat()}

    def open_ids() -> set[int]:
        answer = peer.ask(command)
        assert answer == brute_force(**at_night)
        return {h[0] for h in answer}

    open_ids()  # the other process has its index now
    ids = [sid for sid in field["ids"] if Station.objects.get(pk=sid).is_active]
    first, second = ids[:8], ids[8:16]
    campaign = services.campaign_create(
        user=admin, name="通宵", region_code="330782", starts_on=CAMPAIGN[0],
        ends_on=CAMPAIGN[1], opens=0, closes=24 * H, station_ids=first)
    assert set(first) <= open_ids()
    services.campaign_set_stations(user=admin, campaign_id=campaign.pk, station_ids=second)
    assert set(second) <= open_ids()
    services.campaign_update(user=admin, campaign_id=campaign.pk, name="通宵",
                             starts_on=CAMPAIGN[0], ends_on=CAMPAIGN[1], opens=10 * H,
                             closes=12 * H)
    open_ids()
    services.campaign_delete(user=admin, campaign_id=campaign.pk)
    open_ids()


def test_a_campaign_over_most_of_the_index_is_applied_without_a_load(field, peer, spied,
                                                                     monkeypatch):
    """A switch touching far more than a third of the index (which, read station by
    station, would load a new index): re-pointed on the request that finds it, nothing
    read but the campaign, no load, exact."""
    at_night = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 50, "radius_m": 20_000,
                "open_now": True, "now": NOWS[5]}
    here(at_night)
    index = changes._index
    spied["loads"].clear()
    assert peer.ask({"op": "edit", "user": field["user"],
                     "changes": [["campaign_set", 0, field["ids"]]]}) == "ok"
    assert here(at_night) == brute_force(**at_night)
    assert changes._index is index and spied["loads"] == [] and spied["read"] == []


def test_past_the_sync_bound_a_campaign_is_applied_in_the_background(field, peer, spied,
                                                                     monkeypatch):
    """More stations than SYNC_CAMPAIGN_STATIONS: the request that finds the change
    answers from the version before, the background step re-points them (no load, no
    station read), and the next request after it answers with the change."""
    monkeypatch.setattr(changes, "SYNC_CAMPAIGN_STATIONS", 10)
    at_night = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 50, "radius_m": 20_000,
                "open_now": True, "now": NOWS[5]}
    before = here(at_night)
    index = changes._index
    spied["loads"].clear()
    release = threading.Event()
    real = changes._read_campaigns

    def slow(log):
        if threading.current_thread().name == "nearby-index-rebuild":
            assert release.wait(30)
        return real(log)

    monkeypatch.setattr(changes, "_read_campaigns", slow)
    assert peer.ask({"op": "edit", "user": field["user"],
                     "changes": [["campaign_set", 0, field["ids"]]]}) == "ok"
    after = brute_force(**at_night)
    assert after != before
    assert here(at_night) == before
    release.set()
    changes.wait_for_rebuild(30)
    assert here(at_night) == after
    assert changes._index is index and spied["loads"] == [] and spied["read"] == []
