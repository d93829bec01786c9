"""Keeping each process's index current: the change log read since the index's version,
applied in place on the request that finds it (a few stations; a campaign change, from the
campaign's row and members) or in a background thread (thousands), or a new index loaded
in the background when the log cannot say. See docs/decisions/0010."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections

from nuanxin.stations import selectors
from nuanxin.stations.models import HolidayCampaign, StationChange
from nuanxin.stations.nearby.hours import (
    CampaignEntry,
    Hours,
    background,
    campaign_entry,
    gently,
    hours_for,
    with_campaign,
)
from nuanxin.stations.nearby.index import READ_CHUNK, NearbyIndex, read_stations
from nuanxin.stations.nearby.version import current_index_version, epoch_of

logger = logging.getLogger(__name__)

_index: NearbyIndex | None = None
_index_lock = threading.Lock()

# A process applies at most this many changed stations at once on the request that finds
# them (a few milliseconds); more, or a bulk change, rebuild in the background.
SYNC_CHANGES = 256
# More changed stations than this are not worth reading one by one: a new index is loaded.
BACKGROUND_CHANGES = 50_000
# Stations a campaign change re-points on the request that finds it (reading the
# campaign's members and deriving the new hours keys: ~25 ms of CPU for 10,000 at 220,000
# stations); more, in the background.
SYNC_CAMPAIGN_STATIONS = 20_000


class _Rebuild:
    """The one background rebuild of this process: while it runs, requests are answered
    from the current index, exact for its version (up to `stale_until`)."""

    thread: threading.Thread | None = None
    stale_until: int | None = None  # versions known to wait for the rebuild


_rebuild = _Rebuild()
_private = threading.local()  # an index built inside a transaction, for that transaction


def _changes_since(version: int, db, limit: int | None = None) -> list[tuple]:
    """(seq, station id, packed station ids, campaign id) of the versions after
    `version`, oldest first; at most `limit` rows."""
    table = db.ops.quote_name(StationChange._meta.db_table)
    sql = (f"SELECT seq, station_pk, station_pks, campaign_pk FROM {table} "  # noqa: S608
           "WHERE seq > %s ORDER BY seq")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with db.cursor() as cursor:
        cursor.execute(sql, [version])
        return cursor.fetchall()


@dataclass
class _Log:
    """What the versions after the index's changed."""

    last: int  # the last version listed
    stations: list[int]  # stations to read again
    # campaign -> the stations whose part of it changed (joined, left, or its dates or
    # hours changed): applied from the campaign, without reading the stations.
    campaigns: dict[int, set[int]] = field(default_factory=dict)

    @property
    def campaign_stations(self) -> int:
        return sum(map(len, self.campaigns.values()))


def _read_log(since: int, version: int, changes: list[tuple]) -> _Log | None:
    """The changes after `since`, or None when the log cannot say (a gap: rows pruned; or
    a change of unknown stations)."""
    if not changes or changes[0][0] != since + 1 or changes[-1][0] < version:
        return None
    ids: set[int] = set()
    campaigns: dict[int, set[int]] = {}
    for _seq, sid, packed, campaign in changes:
        if campaign is not None:
            campaigns.setdefault(campaign, set()).update(map(int, packed.split(",")))
        elif sid is not None:
            ids.add(sid)
        elif packed:
            ids.update(map(int, packed.split(",")))
        else:
            return None
    return _Log(changes[-1][0], sorted(ids), campaigns)


def _read_campaigns(log: _Log) -> dict[int, tuple[CampaignEntry | None, set[int]]]:
    """Per campaign of the log: its entry in its stations' hours keys (None: gone or
    over) and which of the listed stations are its members now. Integers only: a
    definition row each and member ids, never the stations."""
    if not log.campaigns:
        return {}
    today = selectors.local_now().date()
    rows = {pk: tuple(row) for pk, *row in HolidayCampaign.objects.filter(
        pk__in=log.campaigns).values_list("pk", "starts_on", "ends_on", "opens", "closes")}
    through = HolidayCampaign.stations.through.objects
    read = {}
    for campaign, listed in log.campaigns.items():
        entry = campaign_entry(campaign, rows.get(campaign), today)
        members: set[int] = set()
        if entry is not None:
            # A few listed stations (a station joined or left): just those; more: every
            # member (a long list of ids costs more to send than the members to read).
            found = through.filter(holidaycampaign_id=campaign)
            if len(listed) <= READ_CHUNK:
                found = found.filter(station_id__in=listed)
            members.update(gently(found.values_list("station_id", flat=True)))
        read[campaign] = (entry, members)
    return read


def _repoint(index: NearbyIndex, log: _Log, campaigns: dict) -> dict[int, Hours]:
    """The new hours of the stations the log's campaigns changed: each one's key with
    that campaign's entry put in, replaced or taken out (see with_campaign). Stations
    read again anyway are left out; a station not in the index (inactive) too. Called
    with _index_lock held: it reads the index's hours."""
    repointed: dict[int, Hours] = {}
    reread = set(log.stations)
    slot_of, hours_of = index.slot_of, index.hours
    for campaign, listed in log.campaigns.items():
        entry, members = campaigns[campaign]
        # (hours before, member) -> hours after: a few hundred distinct ones at most.
        made: dict[tuple[Hours, bool], Hours] = {}
        for sid in listed:
            slot = slot_of.get(sid)
            if slot is None or sid in reread:
                continue
            old = repointed.get(sid) or hours_of[slot]
            member = entry is not None and sid in members
            new = made.get((old, member))
            if new is None:
                key = with_campaign(old.key, campaign, entry if member else None)
                new = made[old, member] = old if key == old.key else hours_for(key)
            if new is not old:
                repointed[sid] = new
    return repointed


def _catch_up(index: NearbyIndex, version: int, db) -> bool:
    """Apply the changes between the index's version and `version` in place, when they
    are few; False when they must be applied (or the index rebuilt) in the background."""
    changes = _changes_since(index.version, db, limit=SYNC_CHANGES + 1)
    if len(changes) > SYNC_CHANGES:
        return False
    log = _read_log(index.version, version, changes)
    if log is None or len(log.stations) > SYNC_CHANGES \
            or log.campaign_stations > SYNC_CAMPAIGN_STATIONS:
        return False
    rows, hours = read_stations(log.stations)
    repointed = _repoint(index, log, _read_campaigns(log))
    index.apply(log.last, log.stations, rows, hours, repointed)
    return True


def _start_rebuild(version: int) -> None:
    """Bring the index forward in a thread of its own; requests keep the current one,
    as it is, meanwhile. Called with _index_lock held."""
    _rebuild.stale_until = max(version, _rebuild.stale_until or version)
    if _rebuild.thread is not None and _rebuild.thread.is_alive():
        return
    _rebuild.thread = threading.Thread(target=_rebuild_run, name="nearby-index-rebuild",
                                       daemon=True)
    _rebuild.thread.start()


def _rebuild_run() -> None:
    """Stations the log lists (an import: thousands) are read here, campaigns' members
    too, and all applied in one step (readers wait for that step only: ~20 ms for 10,000
    stations); when the log cannot say which stations changed, or those to read are a
    third of the index or more, a new index is loaded and swapped in."""
    global _index
    background.on = True
    try:
        db = connections[DEFAULT_DB_ALIAS]
        version = current_index_version(db)
        index = _index
        log = None
        if index is not None and epoch_of(index.version) == epoch_of(version):
            log = _read_log(index.version, version, _changes_since(index.version, db))
        # Reading stations by id costs about twice as much per station as loading them all;
        # a campaign's stations are not read at all.
        if log is not None and len(log.stations) <= min(BACKGROUND_CHANGES, len(index) // 3):
            rows, hours = read_stations(log.stations)
            campaigns = _read_campaigns(log)
            with _index_lock:
                if _index is index:
                    index.apply(log.last, log.stations, rows, hours,
                                _repoint(index, log, campaigns))
                _rebuild.stale_until = None
            return
        logger.info("nearby index: loading a new one in the background (at %s, now %s: %s)",
                    index and index.version, version,
                    "the log cannot say" if log is None else f"{len(log.stations)} changed")
        fresh = NearbyIndex.load(version)
        with _index_lock:
            current = _index
            if current is None or epoch_of(current.version) != epoch_of(fresh.version) \
                    or current.version <= fresh.version:
                _index = fresh
            _rebuild.stale_until = None
    except Exception:  # the next request that finds the index behind starts another
        logger.exception("bringing the nearby index forward failed")
        with _index_lock:
            _rebuild.stale_until = None
    finally:
        connections.close_all()


def wait_for_rebuild(timeout: float | None = None) -> None:
    """Wait for a background rebuild of this process to finish (tests, benchmarks)."""
    thread = _rebuild.thread
    if thread is not None:
        thread.join(timeout)


def nearby_index() -> NearbyIndex:
    """The index for this request.

    Outside a transaction (every request of the server): the process's index, brought to
    the committed version first when only a few stations changed since; after a bulk
    change (or when this process fell behind the log) the current index keeps answering,
    exact for its version, while a new one is built in the background. Only a process
    without an index, or whose database was emptied and started again (a new epoch),
    loads one before answering.

    Inside a transaction (tests, scripts): an index that may hold this transaction's
    uncommitted writes serves only that transaction; the shared one never does."""
    global _index
    db = connections[DEFAULT_DB_ALIAS]
    version = current_index_version(db)
    index = _index
    if index is not None and index.version == version:
        return index
    if db.in_atomic_block:
        token = db.atomic_blocks[0]
        private = getattr(_private, "index", None)
        if private is None or private[0] is not token or private[1].version != version:
            private = _private.index = (token, NearbyIndex.load(version))
        return private[1]
    if index is not None and _rebuild.stale_until is not None \
            and epoch_of(version) == epoch_of(index.version) \
            and index.version < version <= _rebuild.stale_until:
        return index
    with _index_lock:
        index = _index
        if index is not None and version < index.version \
                and epoch_of(version) == epoch_of(index.version):
            # Another thread brought the index past the version this one read: it is newer,
            # not wrong. (Reloading here cost a whole load per race and left two indexes
            # in memory at once.) Only a database put back to an earlier state reads
            # lower still.
            version = current_index_version(db)
        if index is not None and index.version == version:
            return index
        if index is None or epoch_of(index.version) != epoch_of(version) \
                or version < index.version:
            logger.info("nearby index: loading (%s) before answering",
                        "first use" if index is None else f"at {index.version}, now {version}")
            index = _index = NearbyIndex.load(version)
            return index
        if _rebuild.stale_until is None and _catch_up(index, version, db):
            return index
        _start_rebuild(version)
        return index

