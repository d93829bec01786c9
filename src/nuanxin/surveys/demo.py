"""Demo data for surveys and home visits: the article's charging survey in 义驾山社区,
an anonymous wellbeing survey, and the secretary's home visits (丁建: “充电慢、充电难，还不
安全。”).

Everything goes through the services, like a real secretary and real riders would, and is
deterministic given `rng`. The headline figure — over 90 % of the riders name charging as
their pain point — is not written anywhere: it is what the answers, drawn below with a
96 % chance of ticking charging, add up to in the results.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from nuanxin.accounts.models import (
    ConsentRecord,
    OrgUnit,
    StaffProfile,
    StaffRole,
    User,
    UserKind,
    WorkerProfile,
)
from nuanxin.geo.models import Region
from nuanxin.needs.services import NeedCategory
from nuanxin.surveys import selectors, services
from nuanxin.surveys.models import QuestionKind, Survey
from nuanxin.surveys.services import (
    AnswerInput,
    FollowUpInput,
    OptionInput,
    QuestionInput,
    SurveyInput,
    VisitInput,
)

YIJIASHAN = "330782001001"
UNUSABLE_PASSWORD = "!"  # noqa: S105 - Django's mark for "no password login"
STAFF_USERNAME = "yijiashan.staff"
DING_JIAN_PHONE = "13800000001"
PHONE_BASE = 13700000000  # demo riders of this module: 1370000xxxx
RESIDENTS = 320  # riders living in 义驾山 (the article: 8 cabinets cover 800+ riders around)
ANSWER_RATE = 0.94
C = NeedCategory

CHARGING_SURVEY = "义驾山社区骑手充电情况调查"
PAIN_POINTS = [
    # label, need category, chance a rider ticks it
    ("充电难、充电慢、不安全", C.CHARGING, 0.96),
    ("没有地方歇脚、喝水、热饭", C.REST_SPACE, 0.34),
    ("停车难、交通违章", C.TRAFFIC_PARKING, 0.27),
    ("平台规则、罚款申诉", C.PLATFORM_RULES, 0.22),
    ("孩子放学没人照看", C.CHILDCARE, 0.09),
    ("想学新技能没有门路", C.SKILLS, 0.11),
]
OTHER_PAINS = ["下雨天手机进水", "小区不让电动车进", "午饭时间太赶"]
CHARGING_DETAILS = [
    ("跑单途中的充电桩太少，经常排队", 0.61),
    ("电池用半年就衰减严重，再买又太贵", 0.47),
    ("付费快充站收费偏高", 0.40),
    ("晚上在家充一整夜，不放心安全", 0.44),
    ("送餐途中车子突然没电", 0.52),
]
SUGGESTIONS = [
    "希望在取餐点附近装换电柜，随用随换。",
    "跑单途中的充电桩太少，经常排队。",
    "电池用半年就衰减严重，想再买又觉得太贵。",
    "付费快充站收费偏高，希望有优惠。",
    "党群服务中心能不能晚上也开着，方便充电歇脚。",
    "希望换电价格透明，月卡便宜一点。",
]

VISITS = [
    # (who: phone or None for a household, household, answers, categories, place, to_need)
    (DING_JIAN_PHONE, None,
     ("充电慢、充电难，还不安全。", [C.CHARGING]),
     ("希望社区附近能有换电的地方，早上出门前就能换上满电电池。", [C.CHARGING]),
     "义驾山社区党群服务中心", True),
    (None, ("王阿姨家", "义驾山社区 5 幢 2 单元"),
     ("儿子儿媳都在跑外卖，孙子放学没人接。", [C.CHILDCARE]),
     ("社区能不能办个放学后的托管班。", [C.CHILDCARE]),
     "", True),
    ("resident", None,
     ("晚上回家电动车没地方停，楼道里又不让充电。", [C.TRAFFIC_PARKING, C.CHARGING]),
     ("小区里加一个电动车充电停车棚。", [C.TRAFFIC_PARKING]),
     "稠城街道取餐点", False),
    ("resident", None,
     ("想学点技能，以后跑不动了也有出路。", [C.SKILLS]),
     ("办夜校，教电脑和短视频剪辑。", [C.SKILLS]),
     "骑手驿站", False),
    ("resident", None,
     ("父亲住院，医药费压力大。", [C.HEALTH]),
     ("帮忙了解一下大病救助政策。", [C.HEALTH]),
     "", False),
    ("resident", None,
     ("没有。", []),
     ("路口红绿灯时间太短，骑车过马路危险。", [C.TRAFFIC_PARKING]),
     "", False),
]


def _staff(region: Region) -> User:
    """The community's secretary from the main demo data, or one made here."""
    profile = (StaffProfile.objects.filter(org_unit__region=region,
                                           role=StaffRole.COMMUNITY_STAFF)
               .select_related("user").order_by("pk").first())
    if profile is not None:
        return profile.user
    unit, _created = OrgUnit.objects.get_or_create(region=region,
                                                   name=f"{region.name}党群服务中心")
    user = User.objects.create(username=STAFF_USERNAME, kind=UserKind.STAFF,
                               display_name="义驾山社区 何书记", password=UNUSABLE_PASSWORD)
    StaffProfile.objects.create(user=user, org_unit=unit, role=StaffRole.COMMUNITY_STAFF)
    return user


def _residents(region: Region, now: datetime) -> list[User]:
    """Workers living in the community: those already there plus demo riders up to
    RESIDENTS, created with phones 1370000xxxx (their details follow from the number, so
    they take nothing from the random stream)."""
    existing = list(User.objects.filter(kind=UserKind.WORKER,
                                        worker_profile__home_region=region).order_by("pk"))
    missing = RESIDENTS - len(existing)
    if missing > 0:
        taken = set(User.objects.filter(phone__startswith="1370000").values_list("phone",
                                                                               flat=True))
        phones = [str(PHONE_BASE + i) for i in range(1, 10_000)
                  if str(PHONE_BASE + i) not in taken][:missing]
        User.objects.bulk_create(
            User(username=p, phone=p, kind=UserKind.WORKER, password=UNUSABLE_PASSWORD,
                 date_joined=now)
            for p in phones)
        users = list(User.objects.filter(phone__in=phones).order_by("pk"))
        version = settings.NUANXIN_PRIVACY_NOTICE_VERSION
        WorkerProfile.objects.bulk_create(
            WorkerProfile(user=u, occupation="courier" if int(u.phone) % 5 == 0
                          else "food_delivery",
                          platforms=[["美团", "饿了么", "顺丰", "京东"][int(u.phone) % 4]],
                          home_region=region, consent_version=version, consented_at=now)
            for u in users)
        ConsentRecord.objects.bulk_create(ConsentRecord(user=u, version=version) for u in users)
        existing += users
    return existing


def _charging_survey(staff: User, region: Region, now: datetime) -> tuple[Survey, dict]:
    survey = services.survey_create(actor=staff, data=SurveyInput(
        title=CHARGING_SURVEY, region_code=region.code,
        intro="社区想了解大家跑单路上充电、换电的难处，好对接换电柜等服务。大约一分钟，谢谢！",
        opens_at=now - timedelta(days=20), closes_at=now + timedelta(days=10)))
    q = {}
    q["pain"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.MULTIPLE, text="跑单途中最大的困难是什么？", allow_other=True,
        maps_to_need=True, help_text="可多选",
        options=[OptionInput(label, category) for label, category, _p in PAIN_POINTS]))
    charging_option = q["pain"].options.get(position=1)
    q["detail"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.MULTIPLE, text="充电方面具体遇到哪些问题？",
        options=[OptionInput(label) for label, _p in CHARGING_DETAILS],
        show_if_question_id=q["pain"].pk, show_if_option_ids=[charging_option.pk]))
    q["times"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.SINGLE, text="您一天大约要充（换）几次电？",
        options=[OptionInput("1 次"), OptionInput("2 次"), OptionInput("3 次及以上")]))
    q["satisfaction"] = services.question_add(actor=staff, survey_id=survey.pk,
                                              data=QuestionInput(
        kind=QuestionKind.RATING, text="您对现在的充电条件满意吗？", scale_max=5,
        scale_low_label="很不满意", scale_high_label="很满意"))
    q["cabinet"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.SINGLE, text="如果在社区和取餐点布设换电柜，您愿意使用吗？",
        options=[OptionInput("愿意"), OptionInput("看价格再说"), OptionInput("不愿意")]))
    q["suggest"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.TEXT, text="您还希望社区办什么事？", required=False))
    services.survey_publish(actor=staff, survey_id=survey.pk)
    return survey, q


def _opt(question, position: int) -> int:
    ids = getattr(question, "_ids_by_position", None)
    if ids is None:
        ids = question._ids_by_position = dict(question.options.values_list("position", "pk"))
    return ids[position]


def _charging_answers(q: dict, rng: random.Random) -> dict:
    pains = [i for i, (_l, _c, p) in enumerate(PAIN_POINTS, start=1) if rng.random() < p]
    other = rng.choice(OTHER_PAINS) if rng.random() < 0.04 else ""
    if not pains and not other:
        pains = [2]
    answers = {q["pain"].pk: AnswerInput(options=[_opt(q["pain"], i) for i in pains],
                                         other=other)}
    if 1 in pains:
        details = [i for i, (_l, p) in enumerate(CHARGING_DETAILS, start=1) if rng.random() < p]
        answers[q["detail"].pk] = AnswerInput(
            options=[_opt(q["detail"], i) for i in details or [1]])
    answers[q["times"].pk] = AnswerInput(
        options=[_opt(q["times"], rng.choices([1, 2, 3], [20, 45, 35])[0])])
    answers[q["satisfaction"].pk] = AnswerInput(
        number=rng.choices([1, 2, 3, 4, 5], [30, 35, 20, 10, 5])[0])
    answers[q["cabinet"].pk] = AnswerInput(
        options=[_opt(q["cabinet"], rng.choices([1, 2, 3], [78, 18, 4])[0])])
    if rng.random() < 0.25:
        answers[q["suggest"].pk] = AnswerInput(text=rng.choice(SUGGESTIONS))
    return answers


def _wellbeing_survey(staff: User, region: Region, now: datetime) -> tuple[Survey, dict]:
    survey = services.survey_create(actor=staff, data=SurveyInput(
        title="说说心里话：骑手工作压力匿名问卷", region_code=region.code, anonymous=True,
        intro="匿名填写，谁也查不到是谁答的。社区据此安排心理疏导和法律咨询。",
        opens_at=now - timedelta(days=10), closes_at=now + timedelta(days=20)))
    q = {}
    q["stress"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.RATING, text="最近一个月，您觉得工作压力大吗？", scale_max=5,
        scale_low_label="一点不大", scale_high_label="非常大"))
    q["source"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.MULTIPLE, text="压力主要来自哪里？", maps_to_need=True,
        options=[OptionInput("收入不稳定", C.OTHER),
                 OptionInput("平台考核和罚款", C.PLATFORM_RULES),
                 OptionInput("交通安全", C.TRAFFIC_PARKING),
                 OptionInput("家里的事", C.CHILDCARE), OptionInput("身体不舒服", C.HEALTH)]))
    q["talk"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.SINGLE, text="遇到烦心事，您最想找谁聊聊？",
        options=[OptionInput("家人朋友"), OptionInput("同事"), OptionInput("社区工作人员"),
                 OptionInput("心理咨询师"), OptionInput("谁也不想说")]))
    services.survey_publish(actor=staff, survey_id=survey.pk)
    return survey, q


def _wellbeing_answers(q: dict, rng: random.Random) -> dict:
    sources = [i for i, p in enumerate([0.55, 0.48, 0.36, 0.25, 0.2], start=1)
               if rng.random() < p] or [1]
    return {
        q["stress"].pk: AnswerInput(number=rng.choices([1, 2, 3, 4, 5], [5, 15, 35, 30, 15])[0]),
        q["source"].pk: AnswerInput(options=[_opt(q["source"], i) for i in sources]),
        q["talk"].pk: AnswerInput(
            options=[_opt(q["talk"], rng.choices([1, 2, 3, 4, 5], [40, 20, 15, 10, 15])[0])]),
    }


def _visits(staff: User, residents: list[User], rng: random.Random, now: datetime,
            *, raise_needs: bool) -> tuple[int, list[int]]:
    pool = [u for u in residents if u.phone != DING_JIAN_PHONE]
    rng.shuffle(pool)
    made, need_ids = 0, []
    for index, (who, household, first, second, place, to_need) in enumerate(VISITS):
        worker_phone = ""
        if who == DING_JIAN_PHONE:
            if not any(u.phone == DING_JIAN_PHONE for u in residents):
                continue
            worker_phone = DING_JIAN_PHONE
        elif who == "resident":
            worker_phone = pool.pop().phone
        visited_at = now - timedelta(days=21 - 3 * index, hours=rng.randint(1, 6))
        visit = services.visit_record(actor=staff, data=VisitInput(
            visited_at=visited_at, worker_phone=worker_phone,
            household_name=household[0] if household else "",
            household_address=household[1] if household else "",
            region_code=YIJIASHAN, place=place,
            difficulty_text=first[0], difficulty_categories=list(first[1]),
            community_text=second[0], community_categories=list(second[1]),
            follow_ups=[FollowUpInput("联系中国铁塔义乌分公司，了解换电柜布设条件",
                                      timezone.localdate(now) + timedelta(days=7))]
            if who == DING_JIAN_PHONE else []))
        made += 1
        if raise_needs and to_need:
            answer = visit.answers.get(question="difficulty")
            need_ids.append(services.visit_answer_to_need(actor=staff, answer_id=answer.pk))
    # This week's plan: six riders not yet visited; the two planned for today were visited.
    today = timezone.localdate(now)
    planned = [pool.pop() for _i in range(6)]
    for offset, worker in enumerate(planned):
        services.plan_add(actor=staff, worker_id=worker.pk,
                          planned_on=today + timedelta(days=max(offset - 1, 0)))
    for worker in planned[:2]:
        services.visit_record(actor=staff, data=VisitInput(
            visited_at=now - timedelta(hours=1), worker_id=worker.pk, place="骑手驿站",
            difficulty_text="电池衰减快，一天要换两次电。", difficulty_categories=[C.CHARGING],
            community_text="驿站晚上能多开一会儿。", community_categories=[C.REST_SPACE]))
        made += 1
    return made, need_ids


@transaction.atomic
def seed_surveys(rng: random.Random, *, now: datetime | None = None,
                 raise_needs: bool = True) -> dict:
    """Load the surveys and visits demo into a database that has the region tree (and,
    usually, the main demo's staff and workers). Returns what it made, with the share of
    charging computed from the stored answers."""
    now = now or timezone.now()
    region = Region.objects.get(code=YIJIASHAN)
    staff = _staff(region)
    residents = _residents(region, now)

    survey, q = _charging_survey(staff, region, now)
    respondents = [u for u in residents if rng.random() < ANSWER_RATE]
    for worker in respondents:
        services.response_submit(
            worker=worker, survey_id=survey.pk, answers=_charging_answers(q, rng),
            at=now - timedelta(days=rng.uniform(0, 19.5)))

    wellbeing, wq = _wellbeing_survey(staff, region, now)
    for worker in rng.sample(residents, min(60, len(residents))):
        services.response_submit(worker=worker, survey_id=wellbeing.pk,
                                 answers=_wellbeing_answers(wq, rng),
                                 at=now - timedelta(days=rng.uniform(0, 9.5)))

    need_ids = []
    charging_option = q["pain"].options.get(position=1)
    if raise_needs:
        need_ids.append(services.survey_raise_need(actor=staff, survey_id=survey.pk,
                                                   option_id=charging_option.pk))
    visits, visit_needs = _visits(staff, residents, rng, now, raise_needs=raise_needs)

    results = selectors.survey_results(survey)
    pain = next(r for r in results.questions if r.question.pk == q["pain"].pk)
    charging = next(b for b in pain.buckets if b.option_id == charging_option.pk)
    return {
        "survey_id": survey.pk, "anonymous_survey_id": wellbeing.pk,
        "residents": len(residents), "respondents": results.responses,
        "charging_share": charging.percent, "need_ids": need_ids + visit_needs,
        "visits": visits,
    }
