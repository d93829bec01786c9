"""Deterministic demo data: regions, organisation units, staff, workers and stations, then
every app's own demo through the seeders its manifest declares.

Everything comes from one seed number, sits inside real district boundaries and includes
the places the source article names. Generated places are marked `is_demo`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone
from shapely.geometry import Point, shape
from shapely.prepared import prep

from nuanxin.accounts.models import (
    ConsentRecord,
    OrgUnit,
    Partner,
    PartnerKind,
    PartnerMember,
    StaffProfile,
    StaffRole,
    User,
    UserKind,
    WorkerProfile,
)
from nuanxin.accounts.services import current_notice_version
from nuanxin.common import manifest
from nuanxin.common.manifest import SeedContext
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.geo.named_places import NAMED_STATIONS
from nuanxin.geo.selectors import reset_locate_index
from nuanxin.geo.services import regions_load_zhejiang
from nuanxin.geo.spatial import cell_of
from nuanxin.stations.amenities import AMENITIES, bits_for
from nuanxin.stations.models import HolidayCampaign, OpeningSpan, Station, StationType
from nuanxin.stations.services import bump_index_version

DEMO_PASSWORD = "nuanxin-demo-2026"  # noqa: S105 - printed for the demo on purpose
DEMO_WORKER_PHONE = "13800000001"
UNUSABLE_PASSWORD = "!"  # noqa: S105 - Django's mark for "no password login"

STREET_WORDS = ["城东", "城西", "城南", "城北", "新城", "江滨", "湖畔", "东湖", "西山", "南苑",
                "北岸", "文昌", "兴华", "振兴", "和平", "高新", "临江", "龙山", "金桥", "凤凰"]
COMMUNITY_WORDS = ["幸福", "和谐", "阳光", "锦绣", "翠苑", "春晖", "银湖", "桂花", "丽景",
                   "枫林", "瑞安", "清风", "明月", "紫荆", "长乐", "永宁", "嘉禾", "康乐"]
PLATFORMS = ["美团", "饿了么", "顺丰", "中通", "京东", "滴滴", "高德打车", "曹操出行", "货拉拉"]
OCCUPATION_WEIGHTS = [("food_delivery", 50), ("courier", 25), ("ride_hailing", 15),
                      ("truck", 4), ("designated_driver", 3), ("other", 3)]

CENTER_AMENITIES = ["hot_water", "phone_charging", "seating", "toilet", "climate",
                    "first_aid", "reading", "wifi"]
OPTIONAL_AMENITIES = ["microwave", "ebike_charging", "battery_swap", "rain_gear", "toolbox",
                      "fridge", "parking"]


@dataclass
class DemoLogin:
    role: str
    username: str
    password: str
    note: str


def _sampler(geometry: dict, rng: random.Random):
    polygon = shape(geometry)
    prepared = prep(polygon)
    minx, miny, maxx, maxy = polygon.bounds

    def sample(near: tuple[float, float] | None = None, spread_deg: float = 0.0):
        for _ in range(200):
            if near:
                lat = near[0] + rng.gauss(0, spread_deg)
                lng = near[1] + rng.gauss(0, spread_deg)
            else:
                lat, lng = rng.uniform(miny, maxy), rng.uniform(minx, maxx)
            if prepared.contains(Point(lng, lat)):
                return round(lat, 6), round(lng, 6)
        point = polygon.representative_point()
        return round(point.y, 6), round(point.x, 6)

    return sample


def _is_urban(district: Region) -> bool:
    return district.name.endswith("区")


def generate_places(rng: random.Random) -> list[Region]:
    """Demo streets and communities in every district that has none from the article."""
    communities = []
    for district in Region.objects.filter(level=RegionLevel.DISTRICT).order_by("code"):
        sample = _sampler(district.boundary, rng)
        existing = list(Region.objects.filter(parent=district, level=RegionLevel.STREET))
        n_streets = (5 if _is_urban(district) else 3) - len(existing)
        used = {s.code[-3:] for s in existing}
        suffix = 1
        for i in range(max(n_streets, 0)):
            while f"{suffix:03d}" in used:
                suffix += 1
            used.add(f"{suffix:03d}")
            lat, lng = sample()
            word = STREET_WORDS[(i + int(district.code)) % len(STREET_WORDS)]
            street = Region(code=f"{district.code}{suffix:03d}", name=f"{word}街道",
                            level=RegionLevel.STREET, parent=district, is_demo=True,
                            center_lat=lat, center_lng=lng)
            street.save()
            existing.append(street)
        for street in existing:
            have = Region.objects.filter(parent=street).count()
            for j in range(have + 1, 5):
                lat, lng = sample((street.center_lat, street.center_lng), 0.02)
                name = COMMUNITY_WORDS[(j * 7 + int(street.code[-3:]) + int(district.code))
                                       % len(COMMUNITY_WORDS)] + "社区"
                community = Region(code=f"{street.code}{j:03d}", name=name,
                                   level=RegionLevel.COMMUNITY, parent=street, is_demo=True,
                                   center_lat=lat, center_lng=lng)
                community.save()
        communities.extend(Region.objects.filter(parent__parent=district,
                                                 level=RegionLevel.COMMUNITY))
    return communities


def org_unit_for(region: Region) -> OrgUnit:
    suffix = {
        RegionLevel.PROVINCE: "党群服务中心（省）",
        RegionLevel.CITY: "党群服务中心",
        RegionLevel.DISTRICT: "党群服务中心",
        RegionLevel.STREET: "党群服务中心",
        RegionLevel.COMMUNITY: "党群服务中心",
    }[RegionLevel(region.level)]
    unit, _ = OrgUnit.objects.get_or_create(region=region, name=f"{region.name}{suffix}")
    return unit


def ensure_org_units() -> dict[str, OrgUnit]:
    units = {}
    existing = {u.region_id: u for u in OrgUnit.objects.all()}
    new = []
    for region in Region.objects.all().only("code", "name", "level"):
        if region.code in existing:
            units[region.code] = existing[region.code]
            continue
        new.append(OrgUnit(region=region, name=f"{region.name}党群服务中心"))
    OrgUnit.objects.bulk_create(new, batch_size=2000)
    for unit in OrgUnit.objects.all():
        units[unit.region_id] = unit
    return units


def _insert_rows(model: type[models.Model], fields: list[str], rows: Iterable[tuple]) -> int:
    """Append rows to `model`'s table as fast as the backend allows: COPY on PostgreSQL,
    one executemany on SQLite. `fields` are attnames; values must be ready for the database
    (explicit primary keys included; call `_reset_sequences` afterwards on PostgreSQL)."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column)
                        for f in fields)
    connection.ensure_connection()
    count = 0
    if connection.vendor == "postgresql":
        with connection.connection.cursor() as cursor, cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN"  # noqa: S608 - names from model meta
        ) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    if connection.vendor == "sqlite":
        marks = ", ".join("?" * len(fields))
        rows = list(rows)
        connection.connection.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows  # noqa: S608
        )
        return len(rows)
    # Any other backend: the ORM's multi-row INSERT (slower, still correct).
    objs = [model(**dict(zip(fields, row, strict=True))) for row in rows]
    model.objects.bulk_create(objs, batch_size=5000)
    return len(objs)


def _constants(model: type[models.Model], values: dict, *, varying: tuple[str, ...]
               ) -> tuple[list[str], tuple]:
    """Every concrete field but the primary key and the `varying` ones, prepared once for
    the database: the given `values`, else the field's default (so raw rows stay complete
    when a field with a default is added to the model)."""
    prepared = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname in varying:
            continue
        value = values[field.attname] if field.attname in values else field.get_default()
        prepared[field.attname] = field.get_db_prep_save(value, connection)
    return list(prepared), tuple(prepared.values())


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


def _reset_sequences(*models_: type[models.Model]) -> None:
    """After explicit ids: move PostgreSQL's identity sequences past them (SQLite's
    AUTOINCREMENT follows the largest id by itself)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _hours_for(kind: str, rng: random.Random) -> list[tuple[int, int, int]]:
    if kind == "24h":
        return [(w, 0, 1440) for w in range(7)]
    if kind == "night":  # open into the small hours for night drivers
        return [(w, 16 * 60, 2 * 60) for w in range(7)]
    opens = rng.choice([7 * 60, 8 * 60, 8 * 60 + 30, 9 * 60])
    closes = rng.choice([18 * 60, 20 * 60, 21 * 60, 22 * 60])
    days = range(7) if kind == "daily" else range(5)
    return [(w, opens, closes) for w in days]


# Places a station is named after when its community has more than one of a kind, as people
# name them ("桂花社区菜场暖新驿站"), never with a serial number.
LANDMARKS = ["东门", "西街", "南苑", "北口", "菜场", "公园", "广场", "商业街", "地铁口", "公交站",
             "学校旁", "医院旁", "老街", "新村", "湖畔", "桥头", "市场", "路口", "花园", "商场",
             "车站", "河滨", "文化家园", "邻里中心", "工业区", "大厦", "停车场", "滨江", "东站",
             "西站"]


def _station_names(taken: set[str]):
    """name(community, kind): a natural name no other station has, the first of a kind in a
    community without a landmark, later ones after the community's landmarks in turn (pairs
    of landmarks when one runs out). Deterministic and draws nothing from the seed's rng."""
    n = len(LANDMARKS)
    pairs = [a + b for a in LANDMARKS for b in LANDMARKS if a != b]
    next_try: dict[tuple[str, str], int] = {}

    def place(k: int, start: int) -> str:
        if k == 0:
            return ""
        if k <= n:
            return LANDMARKS[(start + k - 1) % n]
        if k - n - 1 < len(pairs):
            return pairs[k - n - 1]
        raise ValueError("no natural station name left")

    def name(community, kind: str) -> str:
        start, k = int(community.code) % n, next_try.get((community.code, kind), 0)
        while True:
            candidate = f"{community.name}{place(k, start)}{kind}"
            k += 1
            if candidate not in taken:
                next_try[(community.code, kind)] = k
                taken.add(candidate)
                return candidate

    return name


def _station_rows(communities, count, rng, *, first_id=1, taken: set[str] | None = None):
    """Yield (Station, hours) pairs spread over communities, denser in urban districts."""
    name_for = _station_names(set() if taken is None else taken)
    weights = []
    samplers = {}
    for community in communities:
        district_code = community.code[:6]
        weights.append(4.0 if community.parent.parent.name.endswith("区") else 1.0)
        if district_code not in samplers:
            samplers[district_code] = _sampler(community.parent.parent.boundary, rng)
    chosen = rng.choices(communities, weights=weights, k=count)
    for i, community in enumerate(chosen):
        sampler = samplers[community.code[:6]]
        lat, lng = sampler((community.center_lat, community.center_lng), 0.015)
        roll = rng.random()
        if roll < 0.45:
            stype = StationType.CENTER
            name = name_for(community, "党群服务中心" if i % 3 == 0 else "新就业群体服务站")
        elif roll < 0.9:
            stype = StationType.POST
            name = name_for(community, "暖新驿站")
        else:
            stype = StationType.PARTNER_POINT
            name = name_for(community, "爱心服务点")
        amenities = set(CENTER_AMENITIES[: rng.randint(3, len(CENTER_AMENITIES))])
        amenities |= set(rng.sample(OPTIONAL_AMENITIES, rng.randint(0, 4)))
        hours_kind = rng.choices(["daily", "weekdays", "24h", "night"], [60, 15, 15, 10])[0]
        station = Station(
            name=name, type=stype, region=community, address=f"{community.parent.parent.name}"
            f"{community.parent.name}{community.name}{rng.randint(1, 300)}号",
            lat=lat, lng=lng, h3_cell=cell_of(lat, lng),
            contact_name="", contact_phone=f"0579-{rng.randint(80000000, 89999999)}",
            amenity_bits=bits_for(sorted(amenities)),
            night_light=hours_kind in ("24h", "night") or rng.random() < 0.3,
            is_active=True, is_demo=True,
        )
        yield station, _hours_for(hours_kind, rng)


def _create_stations(pairs, batch=2000) -> list[Station]:
    created = []
    buffer = []
    span_id = [_next_id(OpeningSpan)]

    def span_rows(stations):
        for station, (_s, hours) in zip(stations, buffer, strict=True):
            for w, o, c in hours:
                yield span_id[0], station.pk, w, o, c
                span_id[0] += 1

    def flush():
        stations = Station.objects.bulk_create([s for s, _h in buffer])
        if stations and stations[0].pk is None:  # backends without RETURNING on bulk insert
            raise RuntimeError("bulk_create must return primary keys")
        _insert_rows(OpeningSpan, ["id", "station_id", "weekday", "opens", "closes"],
                     span_rows(stations))
        created.extend(stations)
        buffer.clear()

    for pair in pairs:
        buffer.append(pair)
        if len(buffer) >= batch:
            flush()
    if buffer:
        flush()
    _reset_sequences(OpeningSpan)
    return created


def create_named_stations(units) -> list[Station]:
    pairs = []
    for region_code, name, stype, lat, lng in NAMED_STATIONS:
        region = Region.objects.get(code=region_code)
        station = Station(
            name=name, type=stype, region=region, org_unit=units.get(region_code),
            address=f"{region.parent.name if region.parent else ''}{region.name}",
            lat=lat, lng=lng, h3_cell=cell_of(lat, lng),
            contact_name="值班社工", contact_phone="0579-85550000",
            amenity_bits=bits_for(list(AMENITIES)[:9]), night_light=True, is_active=True,
        )
        pairs.append((station, [(w, 0, 1440) for w in range(7)] if stype == "post"
                      else [(w, 8 * 60, 21 * 60) for w in range(7)]))
    return _create_stations(pairs)


def create_workers(communities, count, rng, *, phone_base=13900000000, batch=50_000,
                   progress: Callable[[str], None] | None = None) -> int:
    """`count` workers: a User (username = phone, unusable password), a WorkerProfile and a
    ConsentRecord each, written straight to the tables in large batches.

    Draws from `rng` in the same order as one object at a time would (occupation, number of
    platforms, platforms, home community), so the data depend only on the seed number."""
    now = timezone.now()
    version = current_notice_version()
    occupations, weights = zip(*OCCUPATION_WEIGHTS, strict=True)
    cum_weights = list(accumulate(weights))  # what rng.choices(weights=...) computes each time
    community_codes = [c.code for c in communities]
    platform_json: dict[tuple[str, ...], str] = {}

    user_fields, user_const = _constants(
        User, {"password": UNUSABLE_PASSWORD, "kind": UserKind.WORKER.value, "date_joined": now},
        varying=("username", "phone"))
    varying = ("user_id", "occupation", "platforms", "home_region_id")
    profile_fields, profile_const = _constants(
        WorkerProfile, {"consent_version": version, "consented_at": now}, varying=varying)
    consent_fields, consent_const = _constants(
        ConsentRecord, {"version": version, "accepted_at": now}, varying=("user_id",))

    user_id = _next_id(User)
    profile_id = _next_id(WorkerProfile)
    consent_id = _next_id(ConsentRecord)
    choices, randint, sample, choice = rng.choices, rng.randint, rng.sample, rng.choice
    made = 0
    while made < count:
        n = min(batch, count - made)
        users, profiles, consents = [], [], []
        for i in range(made, made + n):
            phone = str(phone_base + i)
            uid = user_id + i
            occupation = choices(occupations, cum_weights=cum_weights)[0]
            platforms = sample(PLATFORMS, randint(1, 2))
            key = tuple(platforms)
            text = platform_json.get(key)
            if text is None:
                text = platform_json[key] = json.dumps(platforms)
            users.append((uid, phone, phone, *user_const))
            profiles.append((profile_id + i, uid, occupation, text, choice(community_codes),
                             *profile_const))
            consents.append((consent_id + i, uid, *consent_const))
        _insert_rows(User, ["id", "username", "phone", *user_fields], users)
        _insert_rows(WorkerProfile, ["id", *varying, *profile_fields], profiles)
        _insert_rows(ConsentRecord, ["id", "user_id", *consent_fields], consents)
        made += n
        if progress and count > batch:
            progress(f"  workers {made:,}/{count:,}")
    _reset_sequences(User, WorkerProfile, ConsentRecord)
    return made


STAFF = [
    # username, role, region code, display name
    ("province.admin", StaffRole.PROVINCE_ADMIN, "330000", "省委组织部 王处长"),
    ("jinhua.admin", StaffRole.CITY_ADMIN, "330700", "金华市 李科长"),
    ("yiwu.admin", StaffRole.DISTRICT_ADMIN, "330782", "义乌市 陈主任"),
    ("choucheng.admin", StaffRole.STREET_ADMIN, "330782001", "稠城街道 周主任"),
    ("yijiashan.staff", StaffRole.COMMUNITY_STAFF, "330782001001", "义驾山社区 何书记"),
    ("yijiashan.keeper", StaffRole.STATION_KEEPER, "330782001001", "义驾山社区 站长"),
    ("chuitai.staff", StaffRole.COMMUNITY_STAFF, "330304001001", "吹台社区 李书记"),
    ("sijiqing.admin", StaffRole.STREET_ADMIN, "330102001", "四季青街道 张委员"),
]

PARTNERS = [
    ("中国铁塔义乌分公司", PartnerKind.OPERATOR, "330782"),
    ("吹台暖新联盟·美妆企业", PartnerKind.COMPANY, "330304"),
    ("新连心调解团", PartnerKind.PROFESSIONAL, "330212"),
    ("舟山市驻点医生团队", PartnerKind.PROFESSIONAL, "330902"),
]


def seed_people(units, communities, rng, *, workers: int,
                progress: Callable[[str], None] | None = None) -> list[DemoLogin]:
    logins = []
    # One hash for the one printed demo password: hashing is slow on purpose.
    demo_hash = make_password(DEMO_PASSWORD)
    for username, role, code, name in STAFF:
        user = User(username=username, kind=UserKind.STAFF, display_name=name)
        user.password = demo_hash
        user.save()
        StaffProfile.objects.create(user=user, org_unit=units[code], role=role)
        logins.append(DemoLogin(str(role.label), username, DEMO_PASSWORD, name))
    for name, kind, code in PARTNERS:
        partner = Partner.objects.create(name=name, kind=kind, region=Region.objects.get(code=code))
        if kind == PartnerKind.OPERATOR:
            user = User(username="tower.yiwu", kind=UserKind.PARTNER, display_name=name)
            user.password = demo_hash
            user.save()
            PartnerMember.objects.create(user=user, partner=partner)
            logins.append(DemoLogin("联盟单位", user.username, DEMO_PASSWORD, name))
    admin = User(username="admin", kind=UserKind.STAFF, is_staff=True, is_superuser=True,
                 display_name="系统管理员")
    admin.password = demo_hash
    admin.save()
    logins.append(DemoLogin("superuser", "admin", DEMO_PASSWORD, "Django admin"))
    home = Region.objects.get(code="330782001001")
    worker = User.objects.create(username=DEMO_WORKER_PHONE, phone=DEMO_WORKER_PHONE,
                                 kind=UserKind.WORKER, display_name="丁建",
                                 password=UNUSABLE_PASSWORD)
    WorkerProfile.objects.create(user=worker, occupation="food_delivery", platforms=["美团"],
                                 home_region=home, consent_version=current_notice_version(),
                                 consented_at=timezone.now())
    logins.append(DemoLogin("骑手 (SMS)", DEMO_WORKER_PHONE, "", "丁建: the code is printed"))
    create_workers(communities, workers, rng, progress=progress)
    return logins


def spring_festival_campaigns(stations: list[Station], rng: random.Random) -> None:
    province = Region.objects.get(code="330000")
    for name, start in (("2026 春节“不打烊”", date(2026, 2, 14)),
                        ("2027 春节“不打烊”", date(2027, 2, 4))):
        campaign = HolidayCampaign.objects.create(
            name=name, region=province, starts_on=start, ends_on=start + timedelta(days=9),
            opens=0, closes=1440,
        )
        chosen = [s for s in stations if s.type == StationType.CENTER or rng.random() < 0.5]
        through = HolidayCampaign.stations.through
        first = _next_id(through)
        _insert_rows(through, ["id", "holidaycampaign_id", "station_id"],
                     ((first + i, campaign.pk, s.pk) for i, s in enumerate(chosen)))
        _reset_sequences(through)


def seed(*, seed_number: int = 2026, stations: int = 2000, workers: int = 500,
         progress: Callable[[str], None] | None = None) -> list[DemoLogin]:
    """Load the demo data into an empty database, in one transaction."""
    with _bulk_load_settings():
        logins = _seed(seed_number=seed_number, stations=stations, workers=workers,
                       progress=progress or (lambda _message: None))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh planner statistics for the big tables
            for model in (User, WorkerProfile, ConsentRecord, Station, OpeningSpan):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return logins


@contextmanager
def _bulk_load_settings():
    """SQLite: no fsync and a large page cache while seeding only (a crash mid-seed leaves a
    database to delete anyway); the WAL file the one big transaction grew is truncated after.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size")
        cache_size = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-524288")  # 512 MiB
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={int(synchronous)}")
            cursor.execute(f"PRAGMA cache_size={int(cache_size)}")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@transaction.atomic
def _seed(*, seed_number: int, stations: int, workers: int,
          progress: Callable[[str], None]) -> list[DemoLogin]:
    """Every installed app's seeder (its manifest's `seeders`), in order."""
    ctx = SeedContext(seed_number=seed_number, rng=random.Random(seed_number),
                      now=timezone.now(), progress=progress, stations=stations,
                      workers=workers, demo_rider_phone=DEMO_WORKER_PHONE)
    for seeder in manifest.seeders():
        progress(f"{seeder.key} ...")
        manifest.load(seeder.run)(ctx)
    progress("committing ...")
    return ctx.logins


def _communities() -> list[Region]:
    return list(Region.objects.filter(level=RegionLevel.COMMUNITY)
                .select_related("parent__parent").order_by("code"))


def _org_units() -> dict[str, OrgUnit]:
    return {unit.region_id: unit for unit in OrgUnit.objects.all()}


# The platform's own seeders (declared in ops' manifest): the places, stations and people
# every app's demo builds on.

def seed_regions(ctx: SeedContext) -> None:
    regions_load_zhejiang()
    reset_locate_index()
    generate_places(ctx.rng)
    ensure_org_units()


def seed_stations(ctx: SeedContext) -> None:
    named = create_named_stations(_org_units())
    generated = _create_stations(_station_rows(_communities(), ctx.stations - len(named),
                                               ctx.rng,
                                               taken={station.name for station in named}))
    spring_festival_campaigns(named + generated, ctx.rng)
    bump_index_version()


def seed_demo_people(ctx: SeedContext) -> None:
    ctx.logins += seed_people(_org_units(), _communities(), ctx.rng, workers=ctx.workers,
                              progress=ctx.progress)


def is_seeded() -> bool:
    return Region.objects.exists()
