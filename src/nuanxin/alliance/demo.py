"""Demo data of the 暖新联盟: partners, co-building agreements, resources, routings and the
article's projects, deterministic from the caller's random generator.

    seed_alliance(rng, now=timezone.now())

Runs after the people (and, when present, the needs list) are seeded:
- 义驾山社区 (义乌): 中国铁塔义乌分公司 offers battery-cabinet slots; the charging needs of
  the community go into a cabinet project that is closed with the article's results
  ("8 组换电柜 覆盖骑手 800 余人"), so those needs are resolved and their raisers told; a
  second phase is under way; one more charging need is routed to the operator and waits for
  its answer on the operator's partner page (login tower.yiwu).
- 吹台社区 (温州): the 暖新联盟 — the cosmetics company and 21 more companies, social
  organisations, financial institutions and merchants, 26 co-building agreements in all
  (some renewed, the old ones expired) — with the 菁英夜校 make-up course among their
  offers, and a night-school project under way (login meizhuang.chuitai for the company).
- 新连心调解团 (宁波) and 舟山's resident doctors offer their services.

Everything goes through the alliance's services and needs.services (needs are never written
directly); partner logins copy the demo password hash of tower.yiwu when it exists.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from nuanxin.accounts.models import (
    OrgUnit,
    Partner,
    PartnerKind,
    PartnerMember,
    User,
    UserKind,
    WorkerProfile,
)
from nuanxin.alliance.models import Agreement, Project
from nuanxin.alliance.services import partners as partner_services
from nuanxin.alliance.services import projects as project_services
from nuanxin.alliance.services import resources as resource_services
from nuanxin.alliance.services import routings as routing_services
from nuanxin.alliance.services.partners import PartnerInput
from nuanxin.alliance.services.projects import ProjectInput
from nuanxin.alliance.services.resources import ResourceInput
from nuanxin.geo.models import Region
from nuanxin.needs import services as need_services
from nuanxin.needs.choices import NeedCategory, NeedSource, NeedStatus
from nuanxin.needs.selectors import needs_visible_to
from nuanxin.needs.services import NeedInput

K = PartnerKind
C = NeedCategory

YIWU = "330782"
CHOUCHENG = "330782001"
YIJIASHAN = "330782001001"
OUHAI = "330304"
CHUITAI = "330304001001"
HAIJINGYUAN = "330212001001"
ZHOUSHAN_CHENGDONG = "330902001001"

YIJIASHAN_CENTRE = (29.3152, 120.0786)
CHUITAI_CENTRE = (27.9593, 120.6199)

TOWER = "中国铁塔义乌分公司"
COSMETICS = "吹台暖新联盟·美妆企业"
MEDIATORS = "新连心调解团"
DOCTORS = "舟山市驻点医生团队"

# The partners ops/demo.py already seeds (created here only when missing).
KNOWN_PARTNERS = [(TOWER, K.OPERATOR, YIWU), (COSMETICS, K.COMPANY, OUHAI),
                  (MEDIATORS, K.PROFESSIONAL, "330212"), (DOCTORS, K.PROFESSIONAL, "330902")]

# 吹台's 暖新联盟: (name, kind, resource title, category, capacity, unit, conditions)
CHUITAI_ALLIANCE = [
    ("吹台暖新联盟·AI科技企业", K.COMPANY, "菁英夜校·AI 工具入门课", C.SKILLS, 20, "个名额",
     "每周三 19:00–21:00，自带手机即可"),
    ("吹台暖新联盟·直播电商企业", K.COMPANY, "直播带货实操课", C.SKILLS, 15, "个名额",
     "每周六下午，提供直播设备"),
    ("吹台暖新联盟·商业银行网点", K.FINANCIAL, "金融知识与防诈骗讲座", C.OTHER, 40, "个名额",
     "每月一期，可预约上门讲解"),
    ("吹台暖新联盟·保险公司", K.FINANCIAL, "职业伤害保障政策讲解", C.LEGAL, 30, "人次/月",
     "在党群服务中心现场答疑"),
    ("吹台暖新联盟·律师事务所", K.PROFESSIONAL, "免费法律咨询", C.LEGAL, 10, "次/月",
     "预约制，劳动纠纷优先"),
    ("吹台暖新联盟·心理咨询工作室", K.PROFESSIONAL, "心理疏导", C.HEALTH, 8, "次/月",
     "一对一，严格保密"),
    ("吹台暖新联盟·社区卫生服务站", K.PROFESSIONAL, "免费健康体检", C.HEALTH, 60, "人次/月",
     "每月第二个周日上午"),
    ("吹台暖新联盟·职业技能培训学校", K.PROFESSIONAL, "电工证培训班", C.SKILLS, 25, "个名额",
     "学费由联盟资助，考证费自理"),
    ("吹台暖新联盟·电动车维修店", K.MERCHANT, "电动车免费检修", C.CHARGING, 50, "次/月",
     "更换配件按成本价"),
    ("吹台暖新联盟·连锁便利店", K.MERCHANT, "热水、微波炉和歇脚座位", C.REST_SPACE, 12, "个座位",
     "24 小时，出示骑手工牌即可"),
    ("吹台暖新联盟·快餐店", K.MERCHANT, "爱心午餐", C.REST_SPACE, 30, "份/天",
     "11:00–13:30，每份 8 元"),
    ("吹台暖新联盟·商务楼宇物业", K.COMPANY, "楼宇临时停车位", C.TRAFFIC_PARKING, 40, "个车位",
     "送餐 15 分钟内免费"),
    ("吹台暖新联盟·青年志愿者协会", K.SOCIAL_ORG, "小哥生日会志愿服务", C.OTHER, 4, "场/年",
     "每季度一场集体生日会"),
    ("吹台暖新联盟·公益基金会", K.SOCIAL_ORG, "困难骑手临时帮扶", C.OTHER, 10, "户/年",
     "经社区核实后发放"),
    ("吹台暖新联盟·书画协会", K.SOCIAL_ORG, "小哥子女书画课", C.CHILDCARE, 20, "个名额",
     "暑期每周两次"),
    ("吹台暖新联盟·健身房", K.MERCHANT, "免费健身", C.HEALTH, 20, "人次/天", "工作日白天"),
    ("吹台暖新联盟·理发店", K.MERCHANT, "爱心理发", C.OTHER, 30, "次/月", "每周一全天"),
    ("吹台暖新联盟·人力资源公司", K.COMPANY, "转岗就业推荐", C.SKILLS, 15, "人/月",
     "面向想转行的骑手、司机"),
    ("吹台暖新联盟·眼镜店", K.MERCHANT, "免费验光", C.HEALTH, 20, "人次/月",
     "配镜享会员价"),
    ("吹台暖新联盟·通信营业厅", K.OPERATOR, "手机充电与流量优惠", C.CHARGING, 10, "个充电口",
     "营业时间内免费充电"),
    ("吹台暖新联盟·家政服务公司", K.COMPANY, "家政技能培训", C.SKILLS, 20, "个名额",
     "结业推荐上岗"),
]
CHUITAI_AGREEMENTS = 26  # the article: 26 共建单位
EXPIRED_FIRST = CHUITAI_AGREEMENTS - 1 - len(CHUITAI_ALLIANCE)  # renewed agreements

PROJECT_RESULTS = ("8 组换电柜 覆盖骑手 800 余人：换电柜设在党群服务中心和周边主要取餐点，"
                   "每组 12 个电池槽，骑手扫码即可取满电电池。")
PROJECT_OUTCOME = ("中国铁塔义乌分公司在义驾山社区及周边布设的换电柜已投用（8 组，覆盖骑手"
                   " 800 余人），扫码即可换电，几分钟完成“取旧换新”。")


class DemoError(RuntimeError):
    pass


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def _admin() -> User:
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    if admin is None:
        raise DemoError("seed_alliance needs a superuser (ops seeds `admin`)")
    return admin


def _staff(username: str) -> User:
    return _user(username) or _admin()


def _partner(admin: User, name: str, kind: str, code: str) -> Partner:
    found = Partner.objects.filter(name=name).first()
    if found is not None:
        return found
    return partner_services.partner_create(
        actor=admin, data=PartnerInput(name=name, kind=kind, region_code=code))


def _login(partner: Partner, username: str) -> User | None:
    """A partner login with the demo password (copied from tower.yiwu), if absent."""
    existing = _user(username)
    if existing is not None:
        return existing
    template = _user("tower.yiwu")
    user = User(username=username, kind=UserKind.PARTNER, display_name=partner.name[:40])
    user.password = template.password if template else "!"
    user.save()
    PartnerMember.objects.create(user=user, partner=partner)
    return user


def _jitter(rng: random.Random, point: tuple[float, float], spread: float = 0.004):
    return round(point[0] + rng.uniform(-spread, spread), 6), \
        round(point[1] + rng.uniform(-spread, spread), 6)


def _resource(actor: User, partner: Partner, *, title: str, category: str, code: str,
              capacity: int, unit: str, since: date, conditions: str = "",
              description: str = "", point=None, address: str = "", until=None):
    return resource_services.resource_create(actor=actor, partner_id=partner.pk, data=ResourceInput(
        title=title, category=category, region_code=code, capacity=capacity,
        capacity_unit=unit, available_from=since, available_until=until,
        conditions=conditions, description=description, address=address,
        lat=point[0] if point else None, lng=point[1] if point else None))


def _agreement(admin: User, partner: Partner, unit: OrgUnit, title: str, start: date,
               years: int = 2) -> Agreement:
    return partner_services.agreement_create(
        actor=admin, partner_id=partner.pk, org_unit_id=unit.pk, title=title,
        starts_on=start, ends_on=start + timedelta(days=365 * years - 1))


def _unit(code: str) -> OrgUnit:
    unit = OrgUnit.objects.filter(region_id=code).order_by("pk").first()
    if unit is None:
        raise DemoError(f"no organisation unit at {code}: seed the people first")
    return unit


def _open_needs(staff: User, code: str, category: str, status: str):
    return list(needs_visible_to(staff).filter(region_id=code, category=category,
                                               status=status)
                .order_by("-raised_count", "pk"))


def _raise(staff: User, rng: random.Random, code: str, category: str, title: str,
           description: str):
    """A need raised for a worker of the community (staff record it from a visit) and
    accepted — only when the needs demo did not provide one."""
    riders = list(WorkerProfile.objects.filter(home_region_id=code)
                  .order_by("user_id").values_list("user_id", flat=True)[:50])
    worker = User.objects.get(pk=rng.choice(riders)) if riders else None
    need = need_services.need_raise(actor=staff, worker=worker, data=NeedInput(
        title=title, category=category, source=NeedSource.VISIT, region_code=code,
        description=description))
    return need_services.need_accept(actor=staff, need_id=need.pk)


@transaction.atomic
def seed_alliance(rng: random.Random, *, now: datetime | None = None) -> dict[str, int]:
    """Write the alliance's demo data; returns counts. Safe to call once per database."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if Project.objects.filter(title="义驾山换电柜布设").exists():
        return {"skipped": 1}
    admin = _admin()
    partners = {name: _partner(admin, name, kind, code)
                for name, kind, code in KNOWN_PARTNERS}
    regions = set(Region.objects.filter(code__in=[YIJIASHAN, CHUITAI, HAIJINGYUAN,
                                                  ZHOUSHAN_CHENGDONG])
                  .values_list("code", flat=True))
    if not {YIJIASHAN, CHUITAI} <= regions:
        raise DemoError("the article's communities are missing: load the regions first")

    _seed_yiwu(rng, admin, partners[TOWER], today)
    _seed_chuitai(rng, admin, partners[COSMETICS], today)
    _seed_elsewhere(rng, admin, partners, regions, today)
    return {"partners": Partner.objects.count(), "agreements": Agreement.objects.count(),
            "projects": Project.objects.count()}


def _seed_yiwu(rng, admin, tower, today):
    secretary = _staff("yijiashan.staff")
    unit = _unit(YIJIASHAN)
    _login(tower, "tower.yiwu")
    _agreement(admin, tower, unit, "义驾山社区换电柜共建协议", today - timedelta(days=200))
    since = today - timedelta(days=180)
    cabinets = _resource(
        admin, tower, title="义驾山换电柜电池槽", category=C.CHARGING, code=YIJIASHAN,
        capacity=96, unit="个电池槽", since=since, point=YIJIASHAN_CENTRE,
        address="义驾山社区党群服务中心及周边主要取餐点",
        description="8 组换电柜，每组 12 个电池槽，扫码取电，满电电池随时可取。",
        conditions="骑手扫码开通换电套餐，按次或包月付费")
    second = _resource(
        admin, tower, title="稠城街道取餐点换电柜（二期）", category=C.CHARGING,
        code=CHOUCHENG, capacity=48, unit="个电池槽", since=today - timedelta(days=20),
        point=_jitter(rng, YIJIASHAN_CENTRE, 0.01), conditions="与一期相同")
    # The charging needs: the needs demo's accepted one(s), or one raised here.
    needs = _open_needs(secretary, YIJIASHAN, C.CHARGING, NeedStatus.ACCEPTED)
    if not needs:
        needs = [_raise(secretary, rng, YIJIASHAN, C.CHARGING,
                        "义驾山周边电动车充电难，希望建换电柜",
                        "充电慢、充电难，还不安全；附近没有换电柜。")]
    project = project_services.project_create(
        actor=secretary, data=ProjectInput(
            title="义驾山换电柜布设",
            description="社区党总支把充电难题列入需求清单，对接中国铁塔义乌分公司："
                        "铁塔公司负责布设换电柜，社区负责协调场地、对接骑手需求。"),
        need_ids=tuple(n.pk for n in needs))
    project_services.project_allocate(actor=secretary, project_id=project.pk,
                                      resource_id=cabinets.pk, quantity=96)
    for title, days in (("对接中国铁塔义乌分公司", 150),
                        ("协调场地：党群服务中心和主要取餐点", 120),
                        ("首批换电柜投用", 90), ("布设至 8 组", 30)):
        milestone = project_services.milestone_add(actor=secretary, project_id=project.pk,
                                                   title=title,
                                                   due_on=today - timedelta(days=days))
        project_services.milestone_set_done(actor=secretary, project_id=project.pk,
                                            milestone_id=milestone.pk)
    project_services.project_start(actor=secretary, project_id=project.pk)
    project_services.project_close(actor=secretary, project_id=project.pk,
                                   results=PROJECT_RESULTS, outcome=PROJECT_OUTCOME)
    # Phase two, under way; its cabinets come from the second offer.
    phase_two = project_services.project_create(actor=secretary, data=ProjectInput(
        title="取餐点换电柜加密（二期）", progress=40,
        description="在菜场和写字楼取餐点再布设 4 组换电柜。"))
    project_services.project_allocate(actor=secretary, project_id=phase_two.pk,
                                      resource_id=second.pk, quantity=24)
    for title, days, done in (("选点：菜场、写字楼取餐点", -10, True),
                              ("第 9、10 组投用", 20, False), ("第 11、12 组投用", 45, False)):
        milestone = project_services.milestone_add(actor=secretary, project_id=phase_two.pk,
                                                   title=title,
                                                   due_on=today + timedelta(days=days))
        if done:
            project_services.milestone_set_done(actor=secretary, project_id=phase_two.pk,
                                                milestone_id=milestone.pk)
    project_services.project_start(actor=secretary, project_id=phase_two.pk)
    # A charging need still waiting: routed to the operator, whose answer is pending.
    waiting = _open_needs(secretary, YIJIASHAN, C.CHARGING, NeedStatus.SUBMITTED)
    if waiting:
        routing_services.routing_create(
            actor=secretary, need_id=waiting[0].pk, partner_id=tower.pk,
            resource_id=second.pk, description=waiting[0].description,
            message="骑手反映早高峰电量不够，请评估在附近取餐点增设换电柜。")


def _seed_chuitai(rng, admin, cosmetics, today):
    secretary = _staff("chuitai.staff")
    unit = _unit(CHUITAI)
    members = [cosmetics]
    offers = {}
    for name, kind, title, category, capacity, unit_text, conditions in CHUITAI_ALLIANCE:
        partner = _partner(admin, name, kind, CHUITAI)
        members.append(partner)
        offers[name] = _resource(
            admin, partner, title=title, category=category, code=CHUITAI, capacity=capacity,
            unit=unit_text, since=today - timedelta(days=rng.randint(30, 400)),
            conditions=conditions, point=_jitter(rng, CHUITAI_CENTRE),
            address="吹台社区党群服务中心" if category == C.SKILLS else "")
    makeup = _resource(
        admin, cosmetics, title="菁英夜校·美妆课", category=C.SKILLS, code=CHUITAI,
        capacity=20, unit="个名额", since=today - timedelta(days=420),
        point=CHUITAI_CENTRE, address="吹台社区党群服务中心 菁英夜校教室",
        description="化妆品企业的老师讲解美妆知识，并按学员需要提供职业技能培训；"
                    "可推荐参加化妆师职业技能等级认定。",
        conditions="新就业群体免费；每周二、四 19:00–21:00")
    _login(cosmetics, "meizhuang.chuitai")
    # 26 co-building agreements: every member signed one; some signed an earlier one that
    # has since expired and been renewed.
    renewed = set(rng.sample(range(len(members)), EXPIRED_FIRST))
    for index, partner in enumerate(members):
        start = today - timedelta(days=rng.randint(30, 300))
        if index in renewed:
            _agreement(admin, partner, unit, f"{partner.name}共建协议（首期）",
                       start - timedelta(days=730))
        _agreement(admin, partner, unit, f"{partner.name}共建协议", start)
    project = project_services.project_create(actor=secretary, data=ProjectInput(
        title="菁英夜校 春季班", progress=60, cost_fen=18_000_00,
        description="暖新联盟单位派老师，开设美妆、AI 技术、直播带货等课程。"))
    project_services.project_allocate(actor=secretary, project_id=project.pk,
                                      resource_id=makeup.pk, quantity=12)
    project_services.project_allocate(
        actor=secretary, project_id=project.pk,
        resource_id=offers["吹台暖新联盟·AI科技企业"].pk, quantity=10)
    for title, days, done in (("招生：美妆班 12 人、AI 班 10 人", -40, True),
                              ("开课", -30, True), ("结业与技能等级认定报名", 30, False)):
        milestone = project_services.milestone_add(actor=secretary, project_id=project.pk,
                                                   title=title,
                                                   due_on=today + timedelta(days=days))
        if done:
            project_services.milestone_set_done(actor=secretary, project_id=project.pk,
                                                milestone_id=milestone.pk)
    project_services.project_start(actor=secretary, project_id=project.pk)
    # "想学直播带货": routed to the cosmetics company, which accepted (its user answers).
    skills = _open_needs(secretary, CHUITAI, C.SKILLS, NeedStatus.ACCEPTED)
    if skills:
        need = skills[0]
        routing = routing_services.routing_create(
            actor=secretary, need_id=need.pk, partner_id=cosmetics.pk,
            description=need.description,
            message="夜校想加一门直播带货课，贵公司能否派讲师？")
        teacher = _user("meizhuang.chuitai")
        if teacher is not None:
            routing_services.routing_answer(
                actor=teacher, routing_id=routing.pk, action="propose",
                text="每周六下午派一名主播讲师到夜校上直播带货实操课，首期 15 人。")
        project_services.project_add_need(actor=secretary, project_id=project.pk,
                                          need_id=need.pk)


def _seed_elsewhere(rng, admin, partners, regions, today):
    if HAIJINGYUAN in regions:
        mediators = partners[MEDIATORS]
        for title, capacity, unit in (("免费法律咨询", 40, "次/月"),
                                      ("劳动纠纷调解", 10, "件/月"),
                                      ("事故理赔指导", 20, "次/月")):
            _resource(admin, mediators, title=title, category=C.LEGAL, code=HAIJINGYUAN,
                      capacity=capacity, unit=unit, since=today - timedelta(days=500),
                      address="海璟园社区党群服务中心",
                      conditions="法律顾问、心理咨询师等 10 余位社区能人常驻，预约制")
        _agreement(admin, mediators, _unit(HAIJINGYUAN), "新连心调解团入驻协议",
                   today - timedelta(days=300))
    if ZHOUSHAN_CHENGDONG in regions:
        doctors = partners[DOCTORS]
        _resource(admin, doctors, title="驻点医生：血压测量、体重管理、未病防治",
                  category=C.HEALTH, code=ZHOUSHAN_CHENGDONG, capacity=200, unit="人次/月",
                  since=today - timedelta(days=400), address="舟山驻点医生服务站")
        _agreement(admin, doctors, _unit(ZHOUSHAN_CHENGDONG), "驻点医生服务协议",
                   today - timedelta(days=250))
