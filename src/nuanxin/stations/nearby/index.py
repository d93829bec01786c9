"""The nearby index: active stations in packed arrays by slot, grouped by H3 cell, loaded
in chunks and changed in place."""

from __future__ import annotations

import math
import sys
import threading
from array import array
from dataclasses import dataclass, field

from nuanxin.geo.spatial import BOUND_SLACK_M, cell_geometry, cell_int_of, haversine_rad_m
from nuanxin.stations.models import Station, StationType
from nuanxin.stations.nearby.hours import NO_HOURS, Hours, gently, hours_for, hours_keys
from nuanxin.stations.schedule import Schedule


@dataclass(eq=False, slots=True)
class IndexedStation:
    """A search result's station, as the index held it when the search ran."""

    id: int
    name: str
    type: str
    lat: float
    lng: float
    amenity_bits: int
    schedule: Schedule
    # Presenters may remember what they derive from the fields above (e.g. JSON pieces);
    # the dict lives in the index until the station changes (or the bounded store is full).
    memo: dict = field(repr=False, compare=False)



# Per cell a query starts from, the index remembers the NEIGHBOURS stations nearest to the
# cell's centre (within NEIGHBOURS_RADIUS_M), for at most NEIGHBOUR_CELLS cells (~2 KB
# each). Enough for a limit of 50 or an amenity one station in four has, in a city.
NEIGHBOURS = 128
NEIGHBOURS_RADIUS_M = 30_000
NEIGHBOUR_CELLS = 10_000
# Stations whose presenter pieces (memo) are kept at once.
MEMO_STATIONS = 20_000
# Stations read per query when loading the whole index (bounds the memory a load borrows).
LOAD_CHUNK = 5_000
# Stations read per query by id: reading the hours of 10,000 stations 5,000 ids a query
# held the interpreter lock for 90-100 ms at a time (every request of the process waited),
# 500 ids a query for under 10 ms, in half the time (PostgreSQL, 220,000 stations).
READ_CHUNK = 500

# (distances from a cell's centre, ascending; the stations' slots in that order; a
# distance from the centre that no unlisted station is closer than)
Neighbours = tuple[array, array, float]
Row = tuple[int, str, str, float, float, int, bool]  # id, name, type, lat, lng, bits, active
ROW_FIELDS = ("id", "name", "type", "lat", "lng", "amenity_bits", "is_active")


class NearbyIndex:
    """Active stations grouped by H3 cell, held per process, in packed arrays by slot
    (a slot is a station's position in the arrays; a removed station's slot is reused).

    It reflects the station data at `version` and is brought forward in place, station by
    station, from the change log (`apply`). Readers do not lock: `generation` is odd while
    an update runs and moves on each update, and a search that saw it move is repeated
    (see stations_nearby), so every answer comes from one consistent version.
    """

    def __init__(self, version: int):
        self.version = version
        self.generation = 0
        # Re-entrant: a search run under it (see stations_nearby) may store a cell list.
        self.write_lock = threading.RLock()
        self.ids = array("q")
        self.lats = array("d")
        self.lngs = array("d")
        self.coords = array("d")  # latitude rad, longitude rad, cos latitude; 3 per slot
        self.bits = array("q")
        self.cell_ids = array("q")
        self.names: list[str] = []
        self.types: list[str] = []
        self.hours: list[Hours | None] = []
        self.slot_of: dict[int, int] = {}
        self.free: list[int] = []
        self.cells: dict[int, array] = {}  # H3 cell -> slots
        # Every amenity some station of the cell has: a filter skips whole cells.
        self.cell_bits: dict[int, int] = {}
        # Per cell searched from: its nearest stations (see _neighbours).
        self.neighbours: dict[int, Neighbours | None] = {}
        self.memos: dict[int, dict] = {}

    def __len__(self) -> int:
        return len(self.slot_of)

    @classmethod
    def load(cls, version: int) -> NearbyIndex:
        """Every active station, read in chunks of LOAD_CHUNK by id."""
        index = cls(version)
        after = 0
        while True:
            rows = list(gently(Station.objects.filter(is_active=True, pk__gt=after)
                                .order_by("pk").values_list(*ROW_FIELDS)[:LOAD_CHUNK]))
            if not rows:
                return index
            keys = hours_keys(station_id__gt=after, station_id__lte=rows[-1][0])
            for row in gently(rows):
                index._add(row, hours_for(keys.get(row[0], NO_HOURS)))
            after = rows[-1][0]

    def _add(self, row: Row, hours: Hours) -> int:
        sid, name, kind, lat, lng, bits, _active = row
        cell = cell_int_of(lat, lng)
        p = math.radians(lat)
        if self.free:
            slot = self.free.pop()
            self.ids[slot], self.lats[slot], self.lngs[slot] = sid, lat, lng
            self.coords[3 * slot:3 * slot + 3] = array("d", (p, math.radians(lng), math.cos(p)))
            self.bits[slot], self.cell_ids[slot] = bits, cell
            self.names[slot], self.types[slot], self.hours[slot] = name, TYPES.get(kind,
                                                                                     kind), hours
        else:
            slot = len(self.ids)
            self.ids.append(sid)
            self.lats.append(lat)
            self.lngs.append(lng)
            self.coords.extend((p, math.radians(lng), math.cos(p)))
            self.bits.append(bits)
            self.cell_ids.append(cell)
            self.names.append(name)
            self.types.append(TYPES.get(kind, kind))
            self.hours.append(hours)
        self.slot_of[sid] = slot
        slots = self.cells.get(cell)
        if slots is None:
            self.cells[cell] = array("l", (slot,))
        else:
            slots.append(slot)
        self.cell_bits[cell] = self.cell_bits.get(cell, 0) | bits
        return slot

    def _remove(self, slot: int) -> None:
        cell = self.cell_ids[slot]
        slots = self.cells[cell]
        slots.remove(slot)
        if slots:
            self._recount_bits(cell)
        else:
            del self.cells[cell], self.cell_bits[cell]
        del self.slot_of[self.ids[slot]]
        self.ids[slot] = 0
        self.names[slot] = ""
        self.hours[slot] = None
        self.memos.pop(slot, None)
        self.free.append(slot)

    def _recount_bits(self, cell: int) -> None:
        bits = 0
        for slot in self.cells[cell]:
            bits |= self.bits[slot]
        self.cell_bits[cell] = bits

    def apply(self, version: int, station_ids, rows: dict[int, Row],
              hours: dict[int, Hours], repointed: dict[int, Hours] | None = None) -> None:
        """Bring the index to `version`: each of `station_ids` becomes its row in `rows`
        (absent or inactive: removed), and each station of `repointed` (a campaign
        changed) gets those hours. Stations that keep their place keep their slot, so
        the cells' nearest-station lists stay valid; lists a station entered or left are
        dropped (rebuilt by the next search from that cell)."""
        with self.write_lock:
            self.generation += 1
            try:
                slot_of, memos = self.slot_of, self.memos
                for sid, new in (repointed or {}).items():
                    slot = slot_of.get(sid)
                    if slot is not None:
                        self.hours[slot] = new
                        memos.pop(slot, None)
                moved: list[tuple[float, float, float]] = []
                for sid in station_ids:
                    row = rows.get(sid)
                    slot = self.slot_of.get(sid)
                    if slot is not None and row is not None and row[6] \
                            and (self.lats[slot], self.lngs[slot]) == (row[3], row[4]):
                        lost = self.bits[slot] & ~row[5]
                        self.names[slot], self.types[slot] = row[1], TYPES.get(row[2],
                                                                                row[2])
                        self.bits[slot], self.hours[slot] = row[5], hours[sid]
                        self.memos.pop(slot, None)
                        cell = self.cell_ids[slot]
                        if lost:
                            self._recount_bits(cell)
                        else:
                            self.cell_bits[cell] |= row[5]
                        continue
                    if slot is not None:
                        moved.append(tuple(self.coords[3 * slot:3 * slot + 3]))
                        self._remove(slot)
                    if row is not None and row[6]:
                        slot = self._add(row, hours[sid])
                        moved.append(tuple(self.coords[3 * slot:3 * slot + 3]))
                self._forget_neighbours(moved)
                self.version = version
            except BaseException:
                self.version = -1  # half-applied: no epoch matches, the next request reloads
                raise
            finally:
                self.generation += 1

    def _forget_neighbours(self, points: list[tuple[float, float, float]]) -> None:
        """Drop the nearest-station lists a station entered or left at `points`."""
        if not points:
            return
        if len(points) * len(self.neighbours) > 200_000:
            self.neighbours.clear()
            return
        for origin, listed in list(self.neighbours.items()):
            if listed is None:
                continue
            cp, cl, cc, _reach = cell_geometry(origin)
            reach = listed[2] + BOUND_SLACK_M
            if any(haversine_rad_m(cp, cl, cc, *point) <= reach for point in points):
                del self.neighbours[origin]

    def station(self, slot: int) -> IndexedStation:
        memos = self.memos
        memo = memos.get(slot)
        if memo is None:
            if len(memos) >= MEMO_STATIONS:
                memos.clear()
            memo = memos[slot] = {}
        return IndexedStation(self.ids[slot], self.names[slot], self.types[slot],
                              self.lats[slot], self.lngs[slot], self.bits[slot],
                              self.hours[slot].schedule, memo)


TYPES = {t: sys.intern(t) for t in StationType.values}



def read_stations(ids: list[int]) -> tuple[dict[int, Row], dict[int, Hours]]:
    """The index rows and hours of `ids` as committed now (read after the log: at least
    as new as the versions applied; a later change to one of them is applied again by its
    own version, with the same result)."""
    rows: dict[int, Row] = {}
    hours: dict[int, Hours] = {}
    for at in range(0, len(ids), READ_CHUNK):
        chunk = ids[at:at + READ_CHUNK]
        found = [row[0] for row in gently(
            Station.objects.filter(pk__in=chunk).values_list(*ROW_FIELDS))
            if rows.setdefault(row[0], row)]
        # Schedule keys turned into the shared Hours chunk by chunk: holding 10,000
        # stations' keys at once left Python's allocator 24 MB larger for good (its arenas
        # stay mapped while any object in them lives).
        keys = hours_keys(station_id__in=chunk)
        hours.update((sid, hours_for(keys.get(sid, NO_HOURS))) for sid in found)
    return rows, hours

