"""Benchmark: GET /api/v1/stations/nearby against GET /api/v1/ping on the same server.

    nuanxin seed --scale province        # once, on an empty database (22,000 stations)
    python bench/nearby.py               # or: make bench

Starts the real platform (`nuanxin run --no-seed`: gunicorn with the same workers and
threads as `make run`, plus its background worker) on a free port, against the database
the environment names (DATABASE_URL, else the SQLite file under NUANXIN_VAR_DIR), and
drives it with keep-alive HTTP/1.1 connections from this process.

The load generator is one thread multiplexing all connections over non-blocking sockets
with pre-built requests and minimal response parsing, so it costs little CPU next to the
server it measures (both share the machine); its own CPU use is printed with the figures.
Connections are spread evenly over the gunicorn workers, as many clients would be. Rounds
alternate ping / nearby so drift (caches, CPU frequency, other programs) hits both alike.

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
import time
import urllib.request
from dataclasses import dataclass, field
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
        hits = selectors.stations_nearby(lat=lat, lng=lng, limit=limit, radius_m=radius,
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
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    env.pop("NUANXIN_DEBUG", None)
    command = [sys.executable, "-m", "nuanxin", "run", "--no-seed", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
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
        proc.send_signal(signal.SIGTERM)  # `nuanxin run` stops gunicorn and huey itself
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
    seconds: float = 0.0
    errors: int = 0
    reconnects: int = 0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    machine_cpu: float = 0.0

    def add(self, other: Result) -> None:
        self.latencies += other.latencies
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
          min_requests: int = 0, workers: int = 2) -> Result:
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
    latencies = result.latencies
    while in_flight:
        events = sel.select(timeout=30)
        if not events:
            raise SystemExit(f"{name}: the server answered nothing for 30 s")
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


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=8,
                        help="connections kept busy (default 8 = 2 workers x 4 threads)")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each round")
    parser.add_argument("--rounds", type=int, default=5, help="ping/nearby round pairs")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY",
                                                                            "2")))
    parser.add_argument("--queries", type=int, default=5000, help="distinct nearby queries")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for query points")
    parser.add_argument("--verify", type=int, default=200, metavar="N",
                        help="first check N queries against a full scan, in-process")
    parser.add_argument("--force", action="store_true",
                        help="run even if the database is smaller than province scale")
    args = parser.parse_args()

    django_setup()
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
    paths = query_paths(args.queries, args.seed)
    if args.verify:
        wrong = verify(paths, args.verify)
        print(f"exactness: {args.verify - wrong}/{args.verify} queries equal a full scan of "
              f"every station", flush=True)
        if wrong:
            raise SystemExit(1)
    from django.db import connection

    connection.close()

    port = free_port()
    log = Path(tempfile.mkstemp(prefix="nuanxin-bench-", suffix=".log")[1])
    print(f"nuanxin bench: {stations:,} stations on {vendor}; {os.cpu_count()} CPUs, "
          f"{memory_gb()} GB; "
          f"server: `nuanxin run --no-seed` ({args.workers} gunicorn workers x 4 threads) "
          f"on port {port}; {args.concurrency} keep-alive connections; "
          f"{args.rounds} x {args.seconds:.0f} s per endpoint", flush=True)
    server = start_server(port, args.workers, log)
    rng = random.Random(args.seed)
    try:
        ping_paths = ["/api/v1/ping"]
        # Warm-up: every worker builds its nearby index and imports everything.
        drive(port, ping_paths, concurrency=args.concurrency, seconds=2, name="warm",
              server_pid=server.pid, check=b'"ok"', rng=rng, workers=args.workers)
        # Each worker keeps per-process caches (cell geometry, each cell's nearest
        # stations, opening status): go over the queries twice before measuring, so the
        # rounds see the steady state.
        drive(port, paths, concurrency=args.concurrency, seconds=5.0, name="warm",
              server_pid=server.pid, check=b'"results"', rng=rng, min_requests=2 * len(paths),
              workers=args.workers)
        totals = {"ping": Result("ping"), "nearby": Result("nearby")}
        round_ratios = []
        for _round in range(args.rounds):
            ping = drive(port, ping_paths, concurrency=args.concurrency, seconds=args.seconds,
                         name="ping", server_pid=server.pid, check=b'"ok"', rng=rng,
                         workers=args.workers)
            nearby = drive(port, paths, concurrency=args.concurrency, seconds=args.seconds,
                           name="nearby", server_pid=server.pid, check=b'"results"', rng=rng,
                           workers=args.workers)
            totals["ping"].add(ping)
            totals["nearby"].add(nearby)
            round_ratios.append(nearby.rps / ping.rps if ping.rps else 0.0)
    finally:
        stop_server(server)

    print()
    print(f"{'endpoint':<10}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'p99 ms':>9}{'errors':>8}{'client CPU':>12}{'server CPU':>12}{'CPU ms/req':>12}"
          f"{'others CPU':>12}")
    for res in totals.values():
        print(f"{res.name:<10}{len(res.latencies):>10}{res.rps:>9.0f}{res.pct(50):>9.1f}"
              f"{res.pct(95):>9.1f}{res.pct(99):>9.1f}{res.errors:>8}"
              f"{100 * res.client_cpu / res.seconds:>11.0f}%"
              f"{100 * res.server_cpu / res.seconds:>11.0f}%"
              f"{1000 * res.server_cpu / max(1, len(res.latencies)):>12.2f}"
              f"{100 * res.others_cpu / res.seconds:>11.0f}%")
    ping, nearby = totals["ping"], totals["nearby"]
    ratio = nearby.rps / ping.rps if ping.rps else 0.0
    cost_ratio = (ping.server_cpu / max(1, len(ping.latencies))) / \
        (nearby.server_cpu / max(1, len(nearby.latencies))) if nearby.server_cpu else 0.0
    print(f"\nnearby/ping throughput ratio: {ratio:.2f}  (target >= 0.50; rounds: "
          f"{' '.join(f'{r:.2f}' for r in round_ratios)})")
    print(f"nearby p95: {nearby.pct(95):.1f} ms  (target < 50 ms)")
    print(f"ping/nearby server CPU per request: {cost_ratio:.2f}  (the throughput ratio a "
          "CPU-bound server would show)")
    print("CPU columns, in % of one core during the rounds: this load generator; the server "
          "(gunicorn workers and its background worker); everything else on the machine "
          "(a PostgreSQL server's processes, other programs: high values make figures "
          "unreliable).")
    ok = ratio >= 0.5 and nearby.pct(95) < 50 and not (ping.errors or nearby.errors)
    print("PASS" if ok else "MISS")
    log.unlink(missing_ok=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
