"""Benchmark: GET /api/v1/stations/nearby against GET /api/v1/ping on the same server, with
and without station edits, and on PostgreSQL against a PostGIS baseline in the same run.

    nuanxin seed --scale province        # once, on an empty database (22,000 stations)
    python bench/nearby.py               # or: make bench
    python bench/nearby.py --scale 220000   # adds copies of the stations first (kept)

Starts gunicorn exactly as `nuanxin run` does (workers, 4 threads each, access log) on a
free port, against the database the environment names (DATABASE_URL, else the SQLite file
under NUANXIN_VAR_DIR), with the platform's settings plus one bench-only URL, the PostGIS
baseline (bench/nearby_server.py: ST_DWithin + ORDER BY geog <-> point over a GiST index,
the amenity filter only when asked, the hours in the same statement). It drives the server
with keep-alive HTTP/1.1 connections from this process.

Edit modes: "no edits"; "1 edit/s" (a thread of this process changes a random station's
hours or amenities through the services every second while the round runs); "campaign"
(before each round, a holiday campaign switches to another 5,000 stations: a bulk change).
Then 100 more edits with nearby answering in between. The resident memory of each worker
is read after ping only, after the nearby warm-up, and after all the edits.

The load generator is one thread multiplexing all connections over non-blocking sockets
with pre-built requests and minimal response parsing, so it costs little CPU next to the
server it measures (both share the machine). Connections are spread evenly over the
gunicorn workers, as many clients would be. Rounds alternate the endpoints so drift
(caches, CPU frequency, other programs) hits them alike.

Query points are random (fixed seed) inside the urban districts of Zhejiang's 11 cities;
a share of queries also filter by amenity, ask open_now or a larger limit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

PROVINCE_STATIONS = 22_000
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- set-up
def django_setup() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nuanxin.settings")
    import django

    django.setup()


def station_count() -> tuple[int, str]:
    from django.db import connection

    from nuanxin.stations.models import Station

    return Station.objects.filter(is_active=True).count(), connection.vendor


def query_paths(n: int, seed: int) -> list[str]:
    """`n` nearby queries at random points inside the cities' urban districts."""
    from shapely.geometry import Point, shape
    from shapely.prepared import prep

    from nuanxin.geo.models import Region, RegionLevel
    from nuanxin.stations.amenities import AMENITIES

    rng = random.Random(seed)
    cities = list(Region.objects.filter(level=RegionLevel.CITY).order_by("code"))
    urban: dict[str, list] = {}
    for district in Region.objects.filter(level=RegionLevel.DISTRICT).order_by("code"):
        if district.boundary and district.name.endswith("区"):
            geom = shape(district.boundary)
            urban.setdefault(district.code[:4], []).append((geom.bounds, prep(geom)))
    amenity_codes = sorted(AMENITIES)
    paths = []
    while len(paths) < n:
        city = rng.choice(cities)
        (minx, miny, maxx, maxy), polygon = rng.choice(urban[city.code[:4]])
        lng, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not polygon.contains(Point(lng, lat)):
            continue
        params: list[tuple[str, str]] = [("lat", f"{lat:.6f}"), ("lng", f"{lng:.6f}")]
        roll = rng.random()
        if roll < 0.15:
            params.append(("amenity", rng.choice(amenity_codes)))
        elif roll < 0.25:
            params.append(("open_now", "true"))
        elif roll < 0.30:
            params += [("limit", "50"), ("radius_m", "50000")]
        paths.append("/api/v1/stations/nearby?" + urlencode(params))
    return paths


def verify(paths: list[str], n: int) -> int:
    """Run `n` of the queries in-process and compare with a scan of every station; return
    the number of differences (the test suite does this thoroughly on small layouts; this
    is the same check on the database being benchmarked)."""
    from urllib.parse import parse_qs, urlsplit

    from nuanxin.geo.spatial import haversine_m
    from nuanxin.stations import selectors
    from nuanxin.stations.amenities import bits_for
    from nuanxin.stations.models import Station
    from nuanxin.stations.nearby.search import stations_nearby
    from nuanxin.stations.schedule import status_at

    @dataclass
    class Row:
        id: int
        lat: float
        lng: float
        amenity_bits: int
        schedule: object = None

    stations = [Row(*r) for r in Station.objects.filter(is_active=True)
                .values_list("id", "lat", "lng", "amenity_bits")]
    schedules = selectors.schedules_for([s.id for s in stations])
    for s in stations:
        s.schedule = schedules[s.id]
    now = selectors.local_now()
    wrong = 0
    for path in paths[:n]:
        q = parse_qs(urlsplit(path).query)
        lat, lng = float(q["lat"][0]), float(q["lng"][0])
        limit, radius = int(q.get("limit", ["10"])[0]), int(q.get("radius_m", ["20000"])[0])
        bits, open_now = bits_for(q.get("amenity", [])), "open_now" in q
        hits = stations_nearby(lat=lat, lng=lng, limit=limit, radius_m=radius,
                               required_bits=bits, open_now=open_now, now=now)
        scan = sorted(
            (haversine_m(lat, lng, s.lat, s.lng), s.id) for s in stations
            if s.amenity_bits & bits == bits
            and (not open_now or status_at(s.schedule, now).open_now)
        )
        expected = [(d, i) for d, i in scan if d <= radius][:limit]
        if [(h.distance_m, h.station.id) for h in hits] != expected:
            wrong += 1
            print(f"MISMATCH {path}", file=sys.stderr)
    return wrong


def memory_gb() -> str:
    try:
        kb = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
    except (OSError, ValueError, IndexError):
        return "?"
    return f"{kb / 1024 / 1024:.0f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, log: Path) -> subprocess.Popen:
    """gunicorn as `nuanxin run` starts it (same workers, threads and logging), with the
    platform's settings plus the PostGIS baseline's URL (bench/nearby_server.py); the
    background worker and cabinets of `nuanxin run` play no part in these requests."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.nearby_server",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    env.pop("NUANXIN_DEBUG", None)
    command = [sys.executable, "-m", "gunicorn", "nuanxin.wsgi:application", "--bind",
               f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "4",
               "--access-logfile", "-", "--graceful-timeout", "5"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited early; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"the server did not answer /healthz within 120 s; see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def machine_busy_cpu() -> float:
    """CPU seconds all processes of the machine have used so far (Linux /proc), else 0."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        ticks = [int(f) for f in fields]
    except (OSError, ValueError):
        return 0.0
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def process_tree(root_pid: int) -> dict[int, int]:
    """{pid: CPU ticks used so far} for `root_pid` and its descendants (Linux /proc)."""
    try:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    text = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                parts = text[text.rindex(")") + 2:].split()
                stats[int(entry)] = (int(parts[1]), int(parts[11]) + int(parts[12]))
    except (OSError, ValueError):
        return {}
    tree, todo = {}, [root_pid]
    while todo:
        pid = todo.pop()
        if pid in tree or pid not in stats:
            continue
        tree[pid] = stats[pid][1]
        todo += [child for child, (ppid, _t) in stats.items() if ppid == pid]
    return tree


def process_tree_cpu(root_pid: int) -> float:
    """CPU seconds used so far by `root_pid` and its descendants (Linux /proc), else 0."""
    return sum(process_tree(root_pid).values()) / os.sysconf("SC_CLK_TCK")


def socket_owners(port: int, client_ports: set[int], pids) -> dict[int, int]:
    """{client port: pid of the server process holding the other end} (Linux /proc)."""
    inodes = {}
    try:
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
            if int(local, 16) == port and int(remote, 16) in client_ports:
                inodes[f"socket:[{fields[9]}]"] = int(remote, 16)
    except (OSError, ValueError, IndexError):
        return {}
    owners = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target in inodes:
                owners[inodes[target]] = pid
    return owners


def open_balanced(port: int, n: int, server_pid: int, workers: int) -> list[Conn]:
    """`n` connections spread evenly over the gunicorn workers, as many independent
    clients would be. Which worker accepts a connection is chance: with 8 connections a
    6/2 split is common and moves throughput by half, so connections landing on a busy
    worker are replaced until the spread is even (Linux /proc; elsewhere left to chance).
    """
    conns = [Conn(port) for _ in range(n)]
    share = -(-n // workers)
    pids = list(process_tree(server_pid))
    for _attempt in range(200):
        ports = {c.sock.getsockname()[1]: c for c in conns}
        deadline = time.monotonic() + 2
        owners = socket_owners(port, set(ports), pids)
        while len(owners) < len(ports) and time.monotonic() < deadline:
            time.sleep(0.01)  # not accepted yet
            owners = socket_owners(port, set(ports), pids)
        if len(owners) < len(ports):
            return conns  # cannot tell (no /proc, or another layout): leave it to chance
        count: dict[int, int] = {}
        for pid in owners.values():
            count[pid] = count.get(pid, 0) + 1
        busiest = max(count, key=count.get)
        if count[busiest] <= share:
            return conns
        extra = next(c for p, c in ports.items() if owners[p] == busiest)
        conns.remove(extra)
        extra.sock.close()
        conns.append(Conn(port))
    return conns


# --------------------------------------------------------------------------- load
@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)  # when each request was sent
    seconds: float = 0.0
    errors: int = 0
    reconnects: int = 0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    machine_cpu: float = 0.0

    def add(self, other: Result) -> None:
        self.latencies += other.latencies
        self.sent += other.sent
        self.seconds += other.seconds
        self.errors += other.errors
        self.reconnects += other.reconnects
        self.client_cpu += other.client_cpu
        self.server_cpu += other.server_cpu
        self.machine_cpu += other.machine_cpu

    @property
    def others_cpu(self) -> float:
        return max(0.0, self.machine_cpu - self.server_cpu - self.client_cpu)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered \
            else float("nan")


class Conn:
    __slots__ = ("sock", "buf", "sent_at", "expect", "close_after")

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""
        self.sent_at = 0.0
        self.expect = -1
        self.close_after = False


def drive(port: int, paths: list[str], *, concurrency: int, seconds: float, name: str,
          server_pid: int, check: bytes, rng: random.Random,
          min_requests: int = 0, workers: int = 2, patience: float = 30) -> Result:
    """Keep `concurrency` requests in flight for `seconds` (and at least `min_requests`),
    one at a time per connection. Connections are opened afresh for every call and spread
    evenly over the gunicorn workers (see open_balanced)."""
    host = f"127.0.0.1:{port}"
    requests = [f"GET {p} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n"
                .encode() for p in paths]
    result = Result(name)
    sel = selectors.DefaultSelector()
    perf = time.perf_counter
    nreq = len(requests)
    order = list(range(nreq))
    rng.shuffle(order)
    cursor = 0

    def send(conn: Conn) -> None:
        nonlocal cursor
        request = requests[order[cursor % nreq]]
        cursor += 1
        conn.buf = b""
        conn.expect = -1
        conn.sent_at = perf()
        with contextlib.suppress(OSError):  # closed under us: the next read reopens it
            conn.sock.sendall(request)

    def reopen(conn: Conn | None, fresh: Conn | None = None) -> None:
        if conn is not None:
            sel.unregister(conn.sock)
            conn.sock.close()
        fresh = fresh or Conn(port)
        sel.register(fresh.sock, selectors.EVENT_READ, fresh)
        send(fresh)

    opened = open_balanced(port, concurrency, server_pid, workers)

    cpu0, server0, machine0 = (time.process_time(), process_tree_cpu(server_pid),
                               machine_busy_cpu())
    started = perf()
    deadline = started + seconds
    for conn in opened:
        reopen(None, conn)
    in_flight = concurrency
    latencies, sent = result.latencies, result.sent
    while in_flight:
        events = sel.select(timeout=patience)
        if not events:
            raise SystemExit(f"{name}: the server answered nothing for {patience:.0f} s")
        for key, _mask in events:
            conn = key.data
            try:
                chunk = conn.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:  # the server closed the connection: reopen, send anew
                result.reconnects += 1
                reopen(conn)
                continue
            conn.buf += chunk
            if conn.expect < 0:
                head_end = conn.buf.find(b"\r\n\r\n")
                if head_end < 0:
                    continue
                head = conn.buf[:head_end].lower()
                at = head.find(b"content-length:")
                if at < 0:
                    raise SystemExit(f"{name}: a response without Content-Length")
                length = int(head[at + 15:head.find(b"\r\n", at)])
                conn.expect = head_end + 4 + length
                conn.close_after = b"connection: close" in head
                if not head.startswith(b"http/1.1 200"):
                    result.errors += 1
            if len(conn.buf) < conn.expect:
                continue
            now = perf()
            latencies.append(now - conn.sent_at)
            sent.append(conn.sent_at)
            if check not in conn.buf:
                result.errors += 1
            if now < deadline or cursor < min_requests:
                if conn.close_after:
                    result.reconnects += 1
                    reopen(conn)
                else:
                    send(conn)
            else:
                in_flight -= 1
                sel.unregister(conn.sock)
                conn.sock.close()
    result.seconds = perf() - started
    result.client_cpu = time.process_time() - cpu0
    result.server_cpu = process_tree_cpu(server_pid) - server0
    result.machine_cpu = machine_busy_cpu() - machine0
    sel.close()
    return result


# --------------------------------------------------------------------------- scale, edits
def ensure_scale(target: int, seed: int) -> int:
    """Copies of the province's stations (same region, type, amenities and hours, moved by
    up to ~500 m) until `target` stations are active; returns how many were made. Marked
    as demo data, named after their original; later runs reuse them."""
    from django.db import transaction

    from nuanxin.geo.spatial import cell_of
    from nuanxin.stations.models import OpeningSpan, Station
    from nuanxin.stations.services import bump_index_version

    have = Station.objects.filter(is_active=True).count()
    if have >= target:
        return 0
    rng = random.Random(seed)
    originals = list(Station.objects.filter(is_active=True).order_by("pk")[:PROVINCE_STATIONS])
    spans: dict[int, list] = {}
    for sid, w, o, c in OpeningSpan.objects.filter(
            station__in=[s.pk for s in originals]).values_list("station_id", "weekday", "opens",
                                                              "closes"):
        spans.setdefault(sid, []).append((w, o, c))
    made = 0
    while made < target - have:
        batch = []
        for _ in range(min(5000, target - have - made)):
            o = rng.choice(originals)
            lat = round(o.lat + rng.uniform(-0.0045, 0.0045), 6)
            lng = round(o.lng + rng.uniform(-0.0045, 0.0045), 6)
            batch.append((o, Station(name=o.name[:76] + "·副本", type=o.type, region_id=o.region_id,
                                     address=o.address, lat=lat, lng=lng, h3_cell=cell_of(lat, lng),
                                     amenity_bits=o.amenity_bits, is_demo=True)))
        with transaction.atomic():
            Station.objects.bulk_create([b[1] for b in batch], batch_size=1000)
            OpeningSpan.objects.bulk_create(
                (OpeningSpan(station=copy, weekday=w, opens=op, closes=c)
                 for o, copy in batch for w, op, c in spans.get(o.pk, ())), batch_size=5000)
            bump_index_version(None)
        made += len(batch)
        print(f"  {have + made:,} stations ...", file=sys.stderr, flush=True)
    return made


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return float("nan")


def workers_rss(server_pid: int) -> list[float]:
    return sorted(rss_mb(pid) for pid in process_tree(server_pid) if pid != server_pid)


def workers_memory(port: int, server_pid: int, label: str) -> None:
    """Print each worker's /bench/memory (what its memory is made of) to stderr."""
    import json

    want = {pid for pid in process_tree(server_pid) if pid != server_pid}
    seen: set[int] = set()
    for _attempt in range(40):
        if seen >= want:
            break
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/memory", timeout=60) as r:
            report = json.loads(r.read())
        if report["pid"] not in seen:
            seen.add(report["pid"])
            print(f"memory {label}: {json.dumps(report, ensure_ascii=False)}", file=sys.stderr,
                  flush=True)


class Editor:
    """Station keepers at work: through the platform's services, in a thread of this
    process, one change of a random station's hours or amenities every `1 / rate` s, or
    one campaign (春节"不打烊") switching to another 5,000 stations."""

    def __init__(self, seed: int, campaign_size: int):
        from nuanxin.accounts.models import User, UserKind
        from nuanxin.stations.models import HolidayCampaign, Station
        from nuanxin.stations.selectors import local_now
        from nuanxin.stations.services import campaign_create

        self.rng = random.Random(seed)
        self.user = User.objects.filter(is_superuser=True).first() or \
            User.objects.create_superuser(username="bench-editor", password=os.urandom(8).hex(),
                                          kind=UserKind.STAFF)
        self.ids = list(Station.objects.filter(is_active=True).values_list("pk", flat=True))
        self.campaign_size = min(campaign_size, len(self.ids))
        today = local_now().date()
        campaign = HolidayCampaign.objects.filter(name="bench 不打烊").first()
        self.campaign = campaign or campaign_create(
            user=self.user, name="bench 不打烊", region_code="330000", starts_on=today,
            ends_on=today + timedelta(days=7), opens=0, closes=24 * 60)
        self.edits = self.campaigns = 0
        self.seconds: list[float] = []  # how long each change took to commit
        self.committed: list[float] = []  # when each change had committed (perf_counter)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def edit(self) -> None:
        from nuanxin.stations import services
        from nuanxin.stations.amenities import AMENITIES

        sid = self.rng.choice(self.ids)
        started = time.perf_counter()
        if self.rng.random() < 0.5:
            opens = self.rng.choice([6, 7, 8, 9]) * 60
            services.station_set_hours(user=self.user, station_id=sid,
                                       spans=[(w, opens, 20 * 60) for w in range(7)])
        else:
            from django.db import transaction

            from nuanxin.stations.models import Station

            # As the station form would (without re-checking the place: copies made by
            # --scale may sit just across a district border).
            with transaction.atomic():
                station = Station.objects.select_for_update().get(pk=sid)
                station.amenity_bits = self.rng.getrandbits(len(AMENITIES))
                station.save(update_fields=["amenity_bits", "updated_at"])
                services.bump_index_version([sid])
        self.committed.append(time.perf_counter())
        self.seconds.append(self.committed[-1] - started)
        self.edits += 1

    def campaign_change(self) -> None:
        from nuanxin.stations import services

        started = time.perf_counter()
        services.campaign_set_stations(user=self.user, campaign_id=self.campaign.pk,
                                       station_ids=self.rng.sample(self.ids, self.campaign_size))
        self.seconds.append(time.perf_counter() - started)
        self.campaigns += 1

    def start(self, rate: float) -> None:
        def run():
            from django.db import connection

            try:
                next_at = time.monotonic()
                while not self._stop.is_set():
                    self.edit()
                    next_at += 1 / rate
                    self._stop.wait(max(0.0, next_at - time.monotonic()))
            finally:
                connection.close()

        self._stop.clear()
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None


AFTER_EDIT = 0.1


def after_edits(result: Result, committed: list[float]) -> tuple[list[float], list[float]]:
    """The latencies of requests that an edit could have held up (in flight when it
    committed, or sent up to AFTER_EDIT after), and of the others."""
    import bisect

    commits = sorted(committed)
    near, far = [], []
    for sent, latency in zip(result.sent, result.latencies, strict=True):
        at = bisect.bisect_left(commits, sent - AFTER_EDIT)
        (near if at < len(commits) and commits[at] <= sent + latency else far).append(latency)
    return near, far


def pct(latencies: list[float], p: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered \
        else float("nan")


# --------------------------------------------------------------------------- main
MODES = {"none": "no edits", "edits": "1 edit/s", "campaign": "campaign"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=8,
                        help="connections kept busy (default 8 = 2 workers x 4 threads)")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per endpoint and edit mode")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY",
                                                                            "2")))
    parser.add_argument("--queries", type=int, default=5000, help="distinct nearby queries")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for query points")
    parser.add_argument("--verify", type=int, default=200, metavar="N",
                        help="first check N queries against a full scan, in-process")
    parser.add_argument("--scale", type=int, default=0, metavar="STATIONS",
                        help="first add copies of the province's stations (within ~500 m of "
                             "them) until this many are active, e.g. 220000")
    parser.add_argument("--modes", default="none,edits,campaign",
                        help="edit modes to measure: none, edits (--edit-rate per second), "
                             "campaign (a --campaign-size campaign change per round)")
    parser.add_argument("--edit-rate", type=float, default=1.0, help="edits per second")
    parser.add_argument("--campaign-size", type=int, default=5000)
    parser.add_argument("--no-postgis", action="store_true",
                        help="skip the PostGIS baseline on PostgreSQL")
    parser.add_argument("--memory-debug", action="store_true",
                        help="print what each worker's memory is made of at each RSS reading "
                             "(bench/nearby_server.py's /bench/memory; with PYTHONTRACEMALLOC=1 "
                             "also where Python memory grew)")
    parser.add_argument("--force", action="store_true",
                        help="run even if the database is smaller than province scale")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")

    django_setup()
    if args.scale:
        made = ensure_scale(args.scale, args.seed)
        if made:
            print(f"added {made:,} copies of the province's stations", flush=True)
    stations, vendor = station_count()
    if stations < PROVINCE_STATIONS:
        message = (f"The database has {stations:,} active stations; this benchmark is meant "
                   f"for province scale ({PROVINCE_STATIONS:,}). Seed an empty database with\n"
                   "    nuanxin migrate && nuanxin seed --scale province\n"
                   "(set DATABASE_URL for PostgreSQL, NUANXIN_VAR_DIR for another SQLite "
                   "file), or pass --force.")
        if not args.force:
            raise SystemExit(message)
        print("WARNING: " + message, file=sys.stderr)
    from django.db import connection

    postgis = vendor == "postgresql" and not args.no_postgis
    if postgis:
        sys.path.insert(0, str(ROOT))
        from bench.nearby_server import prepare_postgis

        try:
            prepare_postgis(connection)
        except Exception as error:  # noqa: BLE001 - explained, and the bench goes on
            print(f"PostGIS baseline skipped ({str(error).strip().splitlines()[0]}); "
                  "`make bench` installs postgresql-15-postgis-3", file=sys.stderr)
            postgis = False
    paths = query_paths(args.queries, args.seed)
    if args.verify:
        wrong = verify(paths, args.verify)
        print(f"exactness: {args.verify - wrong}/{args.verify} queries equal a full scan of "
              f"every station", flush=True)
        if wrong:
            raise SystemExit(1)
    editor = Editor(args.seed, args.campaign_size) if set(modes) - {"none"} else None
    connection.close()

    port = free_port()
    log = Path(tempfile.mkstemp(prefix="nuanxin-bench-", suffix=".log")[1])
    print(f"nuanxin bench: {stations:,} stations on {vendor}; {os.cpu_count()} CPUs, "
          f"{memory_gb()} GB; server: gunicorn as `nuanxin run` ({args.workers} workers x 4 "
          f"threads) on port {port}; {args.concurrency} keep-alive connections; "
          f"{args.rounds} x {args.seconds:.0f} s per endpoint and mode", flush=True)
    server = start_server(port, args.workers, log)
    rng = random.Random(args.seed)
    endpoints = {"ping": (["/api/v1/ping"], b'"ok"'), "nearby": (paths, b'"results"')}
    if postgis:
        endpoints["postgis"] = ([p.replace("/api/v1/stations/nearby", "/bench/postgis/nearby")
                                 for p in paths], b'"results"')

    def run(name: str, seconds: float, min_requests: int = 0, patience: float = 30) -> Result:
        route, check = endpoints[name]
        return drive(port, route, concurrency=args.concurrency, seconds=seconds, name=name,
                     server_pid=server.pid, check=check, rng=rng, min_requests=min_requests,
                     workers=args.workers, patience=patience)

    totals: dict[tuple[str, str], Result] = {}
    rss: dict[str, list[float]] = {}

    def note_memory(label: str) -> None:
        rss[label] = workers_rss(server.pid)
        if args.memory_debug:
            workers_memory(port, server.pid, label)
    try:
        run("ping", 2)
        note_memory("ping only")
        # Each worker builds its index on its first search and keeps per-process caches
        # (cell geometry, each cell's nearest stations, opening status): go over the
        # queries twice before measuring, so the rounds see the steady state.
        # (The first search of a worker loads its index: ~5 s of CPU at 220,000 stations.)
        run("nearby", 5.0, min_requests=2 * len(paths), patience=600)
        note_memory("nearby, warm")
        if postgis:
            run("postgis", 3.0)
        for mode in modes:
            for _round in range(args.rounds):
                for name in endpoints:
                    if mode == "edits":
                        editor.start(args.edit_rate)
                    elif mode == "campaign":
                        editor.campaign_change()
                    try:
                        result = run(name, args.seconds)
                    finally:
                        if mode == "edits":
                            editor.stop()
                    totals.setdefault((mode, name), Result(name)).add(result)
        if editor is not None:
            # 100 edits, nearby answering in between, then memory again.
            run("nearby", 5.0)  # background work of the campaign changes settles
            note_memory("before 100 edits")
            done = editor.edits
            editor.start(25.0)
            while editor.edits < done + 100:
                run("nearby", 1.0)
            editor.stop()
            run("nearby", 2.0)
            note_memory("after them")
    finally:
        stop_server(server)
        if editor is not None:
            from django.db import connection as editor_connection

            editor_connection.close()

    print()
    print(f"{'mode':<10}{'endpoint':<9}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
          f"{'p99 ms':>8}{'max ms':>8}{'errors':>7}{'server CPU':>11}{'CPU ms/req':>11}"
          f"{'others CPU':>11}")
    for (mode, _name), res in totals.items():
        print(f"{MODES[mode]:<10}{res.name:<9}{len(res.latencies):>9}{res.rps:>8.0f}"
              f"{res.pct(50):>8.1f}{res.pct(95):>8.1f}{res.pct(99):>8.1f}{res.pct(100):>8.0f}"
              f"{res.errors:>7}{100 * res.server_cpu / res.seconds:>10.0f}%"
              f"{1000 * res.server_cpu / max(1, len(res.latencies)):>11.2f}"
              f"{100 * res.others_cpu / res.seconds:>10.0f}%")
    print()
    ok = not any(res.errors for res in totals.values())
    base = totals.get(("none", "nearby"))
    for mode in modes:
        ping, nearby = totals[(mode, "ping")], totals[(mode, "nearby")]
        line = f"{MODES[mode]:<10} nearby/ping {nearby.rps / ping.rps:.2f}"
        if postgis:
            ratio = nearby.rps / totals[(mode, "postgis")].rps
            line += f"   nearby/PostGIS {ratio:.2f} (target >= 2)"
            ok &= ratio >= 2
        if base is not None and mode != "none":
            ratio = nearby.rps / base.rps
            line += f"   nearby vs no edits {ratio:.2f} (target >= 0.9)"
            if mode == "edits":
                ok &= ratio >= 0.9
        line += f"   nearby p99 {nearby.pct(99):.1f} ms, max {nearby.pct(100):.0f} ms"
        if mode == "edits":
            ok &= nearby.pct(99) < 50
        print(line)
    if ("edits", "nearby") in totals and editor.committed:
        near, far = after_edits(totals[("edits", "nearby")], editor.committed)
        print(f"1 edit/s   nearby requests in flight when an edit committed or sent within "
              f"{1000 * AFTER_EDIT:.0f} ms after: {len(near)}, p99 {pct(near, 99):.1f} ms, "
              f"max {pct(near, 100):.0f} ms (target: no wait > 200 ms because of an edit); "
              f"the others: p99 {pct(far, 99):.1f} ms, max {pct(far, 100):.0f} ms")
    if editor is not None and editor.seconds:
        print(f"commit time of a change (editor side): median "
              f"{1000 * sorted(editor.seconds)[len(editor.seconds) // 2]:.0f} ms, "
              f"max {1000 * max(editor.seconds):.0f} ms")
    print("\nRSS per worker (MB): " + "; ".join(
        f"{label}: {', '.join(f'{v:.0f}' for v in values)}" for label, values in rss.items()))
    if "after them" in rss:
        above = max(b - a for a, b in zip(rss["ping only"], rss["after them"], strict=False))
        growth = max(b - a for a, b in zip(rss["before 100 edits"], rss["after them"],
                                           strict=False))
        print(f"largest worker above ping-only: {above:.0f} MB (target <= 150 at 220,000 "
              f"stations); growth over the last 100 edits: {growth:+.0f} MB (target: flat); "
              f"{editor.edits} edits and {editor.campaigns} campaign changes in all")
    print("CPU columns, in % of one core during the rounds: the server (gunicorn workers); "
          "everything else on the machine (a PostgreSQL server's processes, other programs: "
          "high values make figures unreliable).")
    print("PASS" if ok else "MISS")
    for line in log.read_text(errors="replace").splitlines():
        if " nuanxin." in line:  # the platform's own log lines (index loads, errors)
            print("server log: " + line, file=sys.stderr)
    log.unlink(missing_ok=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
