"""Demo needs list: the article's stories in the named communities, and a background of
ordinary needs elsewhere, all deterministic from the caller's random generator.

    seed_needs(rng, workers=list_of_worker_users, now=timezone.now())

- 义驾山社区 (义乌): charging. One need raised by many riders and accepted (the one a
  battery-cabinet project will answer), with duplicates merged into it; three similar
  charging needs still waiting to be merged (the community secretary's journey); a phone-
  charging need resolved with ratings; one resolved need the demo rider (the first worker
  living in 义驾山, e.g. 丁建) has not rated yet; a rest-space need overdue and escalated to
  the street; a declined one.
- 洋洪社区 (台州): childcare for ride-hailing couples (the 童心守望 evening care).
- 海璟园社区 (宁波): unpaid wages, resolved through the 新连心 mediation team.
- 钱江苑社区 (上城区, 杭州): parking for riders at residential gates.
- 吹台社区 (温州): skills (the night school).

Rows are written directly with past timestamps (services stamp "now"), with the same
invariants the services keep: raised_count = raisers, every raiser follows, one history row
per step, merged needs point at their target, target dates by category. Notifications for
the story needs' raisers are written too, so riders' inboxes are not empty.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from nuanxin.accounts.models import Notification, OrgUnit, User, WorkerProfile
from nuanxin.common.scoping import covers
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.needs.models import (
    Need,
    NeedCategory,
    NeedEvent,
    NeedFeedback,
    NeedFollower,
    NeedRaiser,
    NeedSource,
    NeedStatus,
    Urgency,
)
from nuanxin.needs.services import RESPONSE_DAYS, TARGET_DAYS, owner_for_region

YIJIASHAN = "330782001001"
YANGHONG = "331004001001"  # 台州 路桥 洋洪社区 (童心守望)
HAIJINGYUAN = "330212001001"  # 宁波 鄞州 海璟园社区
QIANJIANGYUAN = "330102001001"  # 杭州 上城 钱江苑社区
CHUITAI = "330304001001"  # 温州 瓯海 吹台社区

S = NeedStatus
C = NeedCategory


@dataclass
class Story:
    region: str
    category: str
    title: str
    status: str
    days_ago: int
    raisers: int = 1
    description: str = ""
    outcome: str = ""
    urgency: int = Urgency.LOW
    source: str = NeedSource.ONLINE
    accepted_after: int = 2  # days after raising
    resolved_after: int = 30  # days after acceptance
    note: str = ""  # what the unit wrote when accepting
    ratings: tuple[int, ...] = ()
    escalated: bool = False
    merge_into: str | None = None  # key of the story this one was merged into
    key: str = ""
    demo_rider: bool = False  # the demo rider is among the raisers (and has not rated)
    extra: dict = field(default_factory=dict)


STORIES = [
    # 义驾山: charging, the article's first story
    Story(YIJIASHAN, C.CHARGING, "义驾山周边电动车充电难，希望建换电柜", S.ACCEPTED, 50,
          raisers=14, source=NeedSource.VISIT, key="yjs-main", demo_rider=True,
          urgency=Urgency.HIGH,
          description="两问大家访中骑手反映最多的问题：小区不让电动车进楼充电，"
                      "附近没有换电柜，每天要绕 3 公里去换电。",
          note="已列入社区需求清单，正在对接中国铁塔义乌分公司。"),
    Story(YIJIASHAN, C.CHARGING, "晚上回来没地方充电", S.MERGED, 45, raisers=3,
          merge_into="yjs-main"),
    Story(YIJIASHAN, C.CHARGING, "希望小区门口装充电桩", S.MERGED, 40, raisers=2,
          source=NeedSource.SURVEY, merge_into="yjs-main"),
    Story(YIJIASHAN, C.CHARGING, "换电站太远，跑单时电量不够", S.MERGED, 33, raisers=4,
          source=NeedSource.SURVEY, merge_into="yjs-main"),
    Story(YIJIASHAN, C.CHARGING, "电瓶不让带上楼，充电成了大难题", S.MERGED, 28, raisers=2,
          merge_into="yjs-main"),
    Story(YIJIASHAN, C.CHARGING, "义驾山附近需要换电柜", S.SUBMITTED, 6, raisers=2,
          description="早高峰电量不够，附近没有换电的地方。"),
    Story(YIJIASHAN, C.CHARGING, "小区周边缺少电动车充电的地方", S.SUBMITTED, 4),
    Story(YIJIASHAN, C.CHARGING, "希望在义驾山建换电站", S.SUBMITTED, 2, raisers=3,
          source=NeedSource.ROUNDTABLE),
    Story(YIJIASHAN, C.CHARGING, "驿站增设手机充电口", S.RESOLVED, 95, raisers=6,
          outcome="义驾山社区党群服务中心增设 12 个手机充电口和 2 个充电宝租借点，"
                  "24 小时可用。", resolved_after=12, ratings=(5, 5, 4, 4, 5),
          demo_rider=True),
    Story(YIJIASHAN, C.REST_SPACE, "午饭时间没地方热饭", S.ACCEPTED, 55, raisers=5,
          escalated=True, note="正在与周边商户协商开放微波炉。"),
    Story(YIJIASHAN, C.PLATFORM_RULES, "希望平台取消超时罚款", S.DECLINED, 40,
          outcome="平台派单和罚款规则不属于社区职责，已转市总工会新就业形态劳动者"
                  "协商协调机制反映。"),
    Story(YIJIASHAN, C.TRAFFIC_PARKING, "义驾山菜场路口送餐车辆无处停放", S.NOT_FEASIBLE, 50,
          raisers=2, outcome="路口属市政主干道，暂无法划设停车位；已在社区服务中心门口"
                             "划设临时停车区。"),
    # 台州: childcare for ride-hailing couples
    Story(YANGHONG, C.CHILDCARE, "跑车到晚上，孩子放学后没人照看", S.RESOLVED, 120,
          raisers=9, source=NeedSource.SURVEY, urgency=Urgency.HIGH, resolved_after=25,
          description="夫妻俩都开网约车，晚上 7 点到 9 点半孩子一个人在家。",
          outcome="台州市党群服务中心童心守望点开设晚间托管，每天 19:00–21:30，"
                  "家长凭一次性接送码接孩子。", ratings=(5, 5, 5, 4, 5, 4)),
    Story(YANGHONG, C.CHILDCARE, "暑假孩子白天没人带", S.ACCEPTED, 20, raisers=4,
          note="正在与童心守望点商量暑期托管班。"),
    Story(YANGHONG, C.CHILDCARE, "希望托管点周末也开", S.SUBMITTED, 3, raisers=2),
    # 宁波: unpaid wages, mediated
    Story(HAIJINGYUAN, C.LEGAL, "快递站点拖欠两个月工资", S.RESOLVED, 80, urgency=Urgency.HIGH,
          source=NeedSource.WALK_IN, resolved_after=18,
          outcome="新连心调解团律师预约咨询后与站点调解，追回工资 8,600 元。",
          ratings=(5,)),
    Story(HAIJINGYUAN, C.LEGAL, "送餐途中被撞，对方不肯赔偿", S.ACCEPTED, 10,
          urgency=Urgency.HIGH, source=NeedSource.WALK_IN,
          note="已预约新连心调解团律师。"),
    Story(HAIJINGYUAN, C.LEGAL, "离职后押金一直不退", S.SUBMITTED, 1),
    # 上城: parking
    Story(QIANJIANGYUAN, C.TRAFFIC_PARKING, "小区不让电动车进，送餐只能步行上楼",
          S.ACCEPTED, 35, raisers=7, urgency=Urgency.NORMAL,
          note="正在与钱江苑物业商量骑手通行办法。"),
    Story(QIANJIANGYUAN, C.TRAFFIC_PARKING, "钱江苑周边缺少临时停车点", S.RESOLVED, 90,
          raisers=5, resolved_after=20,
          outcome="在钱江苑东门、南门划设骑手临时停车位 20 个。", ratings=(4, 5, 3)),
    Story(QIANJIANGYUAN, C.REST_SPACE, "雨天没地方避雨歇脚", S.SUBMITTED, 5, raisers=3),
    # 温州: skills, the night school
    Story(CHUITAI, C.SKILLS, "想学电工，考个证转行", S.RESOLVED, 150, raisers=6,
          resolved_after=45, outcome="吹台暖新联盟夜校开设电工培训班，已有 23 人取得证书。",
          ratings=(5, 4, 5)),
    Story(CHUITAI, C.SKILLS, "想学直播带货", S.ACCEPTED, 30, raisers=4,
          note="联盟美妆企业愿意派讲师，夜校排课中。"),
]

BACKGROUND_TITLES = {
    C.CHARGING: ["附近缺少充电桩", "换电柜电池常常不够", "希望增加夜间充电点"],
    C.REST_SPACE: ["中午没有歇脚的地方", "驿站开放时间太短", "希望驿站有热水"],
    C.CHILDCARE: ["孩子放学没人接", "希望有暑期托管"],
    C.SKILLS: ["想学驾驶技能考证", "想参加电脑培训"],
    C.LEGAL: ["工资被拖欠", "劳动合同纠纷需要咨询"],
    C.HEALTH: ["希望组织免费体检", "腰肌劳损想看医生"],
    C.HOUSING: ["租房太贵，希望有骑手公寓"],
    C.TRAFFIC_PARKING: ["小区不让送餐车进", "写字楼下没有停车点"],
    C.PLATFORM_RULES: ["派单距离太远", "差评申诉太难"],
    C.OTHER: ["希望组织骑手联谊活动"],
}
# No "in a project" here: projects are the alliance app's demo, which attaches needs itself.
BACKGROUND_STATUS = [(S.RESOLVED, 55), (S.ACCEPTED, 15), (S.SUBMITTED, 15), (S.DECLINED, 5),
                     (S.NOT_FEASIBLE, 5)]


class _Writer:
    """Collects rows and writes them with the invariants the services keep."""

    def __init__(self, rng: random.Random, now: datetime):
        self.rng = rng
        self.now = now
        self.units: dict[str, OrgUnit] = {}
        self.notes: list[tuple[int, str, str, int, datetime, str]] = []

    def unit(self, region: Region) -> OrgUnit:
        if region.code not in self.units:
            self.units[region.code] = owner_for_region(region)
        return self.units[region.code]

    def event(self, need, at, action, *, unit=None, frm="", to="", note="", data=None,
              actor=None):
        return NeedEvent(need=need, actor=actor, actor_unit=unit, action=action,
                         from_state=frm, to_state=to, reason=note, data=data or {}, at=at)

    def tell(self, raisers: Iterable[User], need: Need, title: str, at: datetime, body=""):
        for worker in raisers:
            self.notes.append((worker.pk, title[:120], body, need.pk, at,
                               f"need-demo-{need.pk}-{len(self.notes)}"))


def _worker_homes(workers: Sequence[User]) -> dict[int, str | None]:
    ids = [w.pk for w in workers]
    homes: dict[int, str | None] = {}
    for start in range(0, len(ids), 5000):
        homes.update(WorkerProfile.objects.filter(user_id__in=ids[start:start + 5000])
                     .values_list("user_id", "home_region_id"))
    return homes


def _pick_raisers(rng, pool_near, pool_all, n, must=None):
    chosen = [must] if must is not None else []
    candidates = [w for w in pool_near if w is not must]
    rng.shuffle(candidates)
    for w in candidates:
        if len(chosen) >= n:
            break
        chosen.append(w)
    others = [w for w in pool_all if w not in chosen]
    while len(chosen) < n and others:
        w = others.pop(rng.randrange(len(others)))
        chosen.append(w)
    return chosen


@transaction.atomic
def seed_needs(rng: random.Random, *, workers, now: datetime | None = None,
               background: int = 300) -> dict[str, int]:
    """Write the demo needs list; returns counts by status. `workers` are worker users
    (a list or queryset); the first of them living in 义驾山 plays the demo rider."""
    now = now or timezone.now()
    workers = sorted(workers, key=lambda w: w.pk)
    if not workers:
        return {}
    homes = _worker_homes(workers)
    w = _Writer(rng, now)
    regions = {r.code: r for r in Region.objects.filter(
        code__in=[YIJIASHAN, YANGHONG, HAIJINGYUAN, QIANJIANGYUAN, CHUITAI])
        .select_related("parent__parent__parent")}
    yijiashan_riders = [x for x in workers if homes.get(x.pk) == YIJIASHAN]
    demo_rider = yijiashan_riders[0] if yijiashan_riders else None

    made: dict[str, Need] = {}
    raisers_of: dict[str, list[User]] = {}
    merges: list[tuple[str, str]] = []
    events: list[NeedEvent] = []
    feedback: list[NeedFeedback] = []
    for index, story in enumerate(STORIES):
        region = regions.get(story.region)
        if region is None:
            continue
        prefix = story.region[:6]
        near = [x for x in workers if covers(prefix, homes.get(x.pk))]
        must = demo_rider if story.demo_rider else None
        raisers = _pick_raisers(rng, near, workers, story.raisers, must)
        created = now - timedelta(days=story.days_ago, hours=rng.randrange(0, 10),
                                  minutes=rng.randrange(60))
        need = _story_need(w, story, region, created)
        need.save()
        key = story.key or f"story-{index}"
        made[key] = need
        raisers_of[key] = raisers
        if story.merge_into:
            merges.append((key, story.merge_into))
        events.extend(_story_rows(w, story, need, raisers, created))
        for score, rater in zip(story.ratings, [r for r in raisers if r is not demo_rider],
                                strict=False):
            feedback.append(NeedFeedback(need=need, worker=rater, score=score,
                                         comment="" if score < 5 else "解决得很及时，谢谢！",
                                         at=need.resolved_at + timedelta(days=1)))
        _raisers(need, raisers, created)
    # merged duplicates: raisers move to the target (counted once), events on both
    for key, target_key in merges:
        source, target = made[key], made.get(target_key)
        if target is None:
            continue
        at = max(source.created_at, target.created_at) + timedelta(days=2)
        have = set(NeedRaiser.objects.filter(need=target).values_list("worker_id", flat=True))
        NeedRaiser.objects.filter(need=source).exclude(worker_id__in=have).update(need=target)
        NeedFollower.objects.filter(need=source).exclude(user_id__in=have).update(need=target)
        Need.objects.filter(pk=source.pk).update(status=S.MERGED, merged_into=target,
                                                 raised_count=0)
        unit = w.unit(target.region)
        events.append(w.event(source, at, "needs.need.merged", unit=unit, frm=S.SUBMITTED,
                              to=S.MERGED, data={"target": target.pk}))
        events.append(w.event(target, at, "needs.need.absorbed", unit=unit,
                              data={"source": source.pk, "source_title": source.title}))
        w.tell(raisers_of[key], target, f"您反映的“{source.title}”与相同的需求合并处理，"
                                        "进展会继续通知您。", at)
    for target in {made[t] for _k, t in merges if t in made}:
        Need.objects.filter(pk=target.pk).update(
            raised_count=NeedRaiser.objects.filter(need=target).count())
    NeedEvent.objects.bulk_create(events, batch_size=2000)
    NeedFeedback.objects.bulk_create(feedback, batch_size=2000)
    _background(w, workers, background)
    _write_notifications(w.notes)
    counts: dict[str, int] = {}
    for status in Need.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def _story_need(w: _Writer, story: Story, region: Region, created: datetime) -> Need:
    accepted = resolved = None
    status = S.SUBMITTED if story.status == S.MERGED else story.status
    if status not in (S.SUBMITTED, S.DECLINED):
        accepted = created + timedelta(days=story.accepted_after, hours=3)
    if status == S.RESOLVED:
        resolved = accepted + timedelta(days=story.resolved_after)
    target = (timezone.localdate(accepted) + timedelta(days=TARGET_DAYS[story.category])
              if accepted else timezone.localdate(created) + timedelta(days=RESPONSE_DAYS))
    if story.escalated:  # accepted long ago, its target missed: the street took it over
        accepted = created + timedelta(days=1)
        target = timezone.localdate(w.now) - timedelta(days=3)
    owner = w.unit(region)
    if story.escalated and region.parent is not None:
        owner = w.unit(region.parent)
    lat = lng = None
    if region.center_lat is not None:  # where in the community it was raised (~300 m)
        lat = round(region.center_lat + w.rng.uniform(-0.003, 0.003), 6)
        lng = round(region.center_lng + w.rng.uniform(-0.003, 0.003), 6)
    return Need(title=story.title, description=story.description, category=story.category,
                source=story.source, region=region, owner=owner, urgency=story.urgency,
                status=status, lat=lat, lng=lng,
                target_date=target, escalation_level=1 if story.escalated else 0,
                outcome=story.outcome if status in (S.RESOLVED, S.DECLINED, S.NOT_FEASIBLE)
                else "", raised_count=story.raisers, created_at=created,
                accepted_at=accepted, resolved_at=resolved)


def _story_rows(w: _Writer, story: Story, need: Need, raisers, created) -> list[NeedEvent]:
    unit = w.unit(need.region)
    # Sent in from a phone, the first raiser raised it; from a visit, survey, roundtable or
    # walk-in, the community recorded it.
    online = story.source == NeedSource.ONLINE and raisers
    rows = [w.event(need, created, "needs.need.raised", to=S.SUBMITTED,
                    actor=raisers[0] if online else None, unit=None if online else unit,
                    data={"source": story.source})]
    for i in range(1, len(raisers)):
        rows.append(w.event(need, created + timedelta(hours=5 * i), "needs.need.raised_again",
                            actor=raisers[i]))
    if need.status == S.DECLINED:
        at = created + timedelta(days=3)
        rows.append(w.event(need, at, "needs.need.declined", unit=unit, frm=S.SUBMITTED,
                            to=S.DECLINED, note=story.outcome))
        w.tell(raisers, need, f"您反映的“{need.title}”未被受理：{story.outcome}", at,
               story.outcome)
    if need.accepted_at:
        rows.append(w.event(need, need.accepted_at, "needs.need.accepted", unit=unit,
                            frm=S.SUBMITTED, to=S.ACCEPTED, note=story.note))
        w.tell(raisers, need, f"您反映的“{need.title}”已受理，目标 "
               f"{need.target_date.isoformat()} 前给出答复。", need.accepted_at, story.note)
    if story.escalated:
        rows.append(w.event(need, w.now - timedelta(days=2), "needs.need.escalated",
                            data={"from_unit": unit.name, "to_unit": need.owner.name,
                                  "level": 1}))
    if need.status == S.RESOLVED:
        rows.append(w.event(need, need.resolved_at, "needs.need.resolved", unit=unit,
                            frm=S.ACCEPTED, to=S.RESOLVED, note=story.outcome))
        w.tell(raisers, need, f"您反映的“{need.title}”已解决，请为处理结果打分。",
               need.resolved_at, story.outcome)
    if need.status == S.NOT_FEASIBLE:
        at = need.accepted_at + timedelta(days=20)
        rows.append(w.event(need, at, "needs.need.not_feasible", unit=unit, frm=S.ACCEPTED,
                            to=S.NOT_FEASIBLE, note=story.outcome))
        w.tell(raisers, need, f"您反映的“{need.title}”暂时无法解决：{story.outcome}", at,
               story.outcome)
    return rows


def _raisers(need: Need, raisers: list[User], created: datetime) -> None:
    NeedRaiser.objects.bulk_create([
        NeedRaiser(need=need, worker=r, source=need.source,
                   raised_at=created + timedelta(hours=5 * i)) for i, r in enumerate(raisers)])
    NeedFollower.objects.bulk_create([NeedFollower(need=need, user=r) for r in raisers])
    if need.raised_count != len(raisers):
        need.raised_count = len(raisers)
        Need.objects.filter(pk=need.pk).update(raised_count=len(raisers))


def _background(w: _Writer, workers: list[User], count: int) -> None:
    """Ordinary needs in other communities, so every dashboard has something to count."""
    rng = w.rng
    communities = list(Region.objects.filter(level=RegionLevel.COMMUNITY)
                       .exclude(code__in=[YIJIASHAN, YANGHONG, HAIJINGYUAN, QIANJIANGYUAN,
                                          CHUITAI])
                       .select_related("parent__parent__parent").order_by("code"))
    if not communities or count <= 0:
        return
    statuses, weights = zip(*BACKGROUND_STATUS, strict=True)
    categories = list(BACKGROUND_TITLES)
    needs, plans = [], []
    for _ in range(count):
        region = rng.choice(communities)
        category = rng.choice(categories)
        status = rng.choices(statuses, weights)[0]
        created = w.now - timedelta(days=rng.randrange(1, 360), minutes=rng.randrange(1440))
        accepted = (created + timedelta(days=rng.randrange(1, 6))
                    if status not in (S.SUBMITTED, S.DECLINED) else None)
        resolved = (accepted + timedelta(days=rng.randrange(3, 80))
                    if status == S.RESOLVED else None)
        if resolved and resolved > w.now:
            resolved = w.now - timedelta(hours=1)
        if accepted and accepted > w.now:
            accepted = created
        if status == S.SUBMITTED:  # waiting, within the response days
            created = w.now - timedelta(days=rng.randrange(0, 6), hours=rng.randrange(24))
        elif status == S.ACCEPTED:  # mostly on time, a few overdue
            created = w.now - timedelta(days=rng.randrange(1, 70), hours=rng.randrange(24))
            accepted = created + timedelta(days=1)
        n = rng.choice([1, 1, 1, 2, 3])
        raisers = rng.sample(workers, min(n, len(workers)))
        outcome = {S.RESOLVED: "已协调解决。", S.DECLINED: "不属于社区职责，已转相关部门。",
                   S.NOT_FEASIBLE: "暂不具备条件，已记录待条件成熟时推进。"}.get(status, "")
        target = (timezone.localdate(accepted) + timedelta(days=TARGET_DAYS[category])
                  if accepted else timezone.localdate(created) + timedelta(days=RESPONSE_DAYS))
        needs.append(Need(
            title=rng.choice(BACKGROUND_TITLES[category]), category=category,
            source=rng.choice(NeedSource.values), region=region, owner=w.unit(region),
            urgency=rng.choice([1, 1, 2, 3]), status=status, target_date=target,
            project_ref="", outcome=outcome, raised_count=len(raisers), created_at=created,
            accepted_at=accepted, resolved_at=resolved))
        plans.append((raisers, created, accepted, resolved, outcome))
    Need.objects.bulk_create(needs, batch_size=2000)
    rows, raiser_rows, follower_rows, ratings = [], [], [], []
    for need, (raisers, created, accepted, resolved, outcome) in zip(needs, plans, strict=True):
        unit = need.owner
        online = need.source == NeedSource.ONLINE
        rows.append(w.event(need, created, "needs.need.raised", to=S.SUBMITTED,
                            actor=raisers[0] if online else None,
                            unit=None if online else unit))
        for i, r in enumerate(raisers):
            if i:
                rows.append(w.event(need, created + timedelta(minutes=i),
                                    "needs.need.raised_again", actor=r))
            raiser_rows.append(NeedRaiser(need=need, worker=r, source=need.source,
                                          raised_at=created + timedelta(minutes=i)))
            follower_rows.append(NeedFollower(need=need, user=r))
        if need.status == S.DECLINED:
            rows.append(w.event(need, created + timedelta(days=2), "needs.need.declined",
                                unit=unit, frm=S.SUBMITTED, to=S.DECLINED, note=outcome))
        if accepted:
            rows.append(w.event(need, accepted, "needs.need.accepted", unit=unit,
                                frm=S.SUBMITTED, to=S.ACCEPTED))
        if resolved:
            rows.append(w.event(need, resolved, "needs.need.resolved", unit=unit,
                                frm=S.ACCEPTED, to=S.RESOLVED, note=outcome))
            if rng.random() < 0.4:
                ratings.append(NeedFeedback(need=need, worker=raisers[0],
                                            score=rng.choice([3, 4, 4, 5, 5, 5]),
                                            at=min(resolved + timedelta(days=1), w.now)))
        if need.status == S.NOT_FEASIBLE:
            rows.append(w.event(need, accepted + timedelta(days=10), "needs.need.not_feasible",
                                unit=unit, frm=S.ACCEPTED, to=S.NOT_FEASIBLE, note=outcome))
    NeedEvent.objects.bulk_create(rows, batch_size=2000)
    NeedRaiser.objects.bulk_create(raiser_rows, batch_size=2000)
    NeedFollower.objects.bulk_create(follower_rows, batch_size=2000)
    NeedFeedback.objects.bulk_create(ratings, batch_size=2000)


def _write_notifications(notes) -> None:
    rows = [Notification(user_id=user_id, title=title, body=body, link=f"/needs/{need_id}/",
                         dedupe_key=key) for user_id, title, body, need_id, _at, key in notes]
    Notification.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    # the inbox orders by time: date each message when its event happened
    for user_id, _title, _body, _need, at, key in notes:
        Notification.objects.filter(user_id=user_id, dedupe_key=key).update(created_at=at,
                                                                             read_at=None)
