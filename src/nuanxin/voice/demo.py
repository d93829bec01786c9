"""Demo stories for 说说心里话: the three voices at the end of the source article, published
with their consent and under their names, and two more waiting for the community's review.

    seed_voice(rng, now=timezone.now())

Stories are written and published through voice.services (consent is checked as in real
use). The article's three speakers get worker accounts of their own (phone numbers in a
demo range, no password: workers sign in by SMS code).
"""

from __future__ import annotations

import random
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from nuanxin.accounts.models import (
    MANAGER_ROLES,
    StaffProfile,
    User,
    UserKind,
    WorkerProfile,
)
from nuanxin.accounts.services import current_notice_version
from nuanxin.common.scoping import covers
from nuanxin.geo.models import Region
from nuanxin.voice import services
from nuanxin.voice.models import Story, StoryKind

YIJIASHAN = "330782001001"  # 义乌 稠城 义驾山社区
QIANJIANGYUAN = "330102001001"  # 杭州 上城 四季青 钱江苑社区
CHUITAI = "330304001001"  # 温州 瓯海 娄桥 吹台社区

# (phone, name, occupation, community, text): the article's "说说心里话".
ARTICLE_VOICES = [
    ("13800000211", "李华贤", "food_delivery", YIJIASHAN,
     "以前，我总觉得这个城市是别人的。我每天骑着电瓶车在这大街小巷里穿，从早跑到晚，送出去的"
     "外卖自己都数不清，可心里就是落不下来。尤其是碰上刮风下雨，手机淋湿、电瓶跑着跑着就没电"
     "了，到了那个份上，站在路边都不知道该往哪儿去。现在不一样，我知道党群服务中心的门是开着"
     "的，进去喝口水，插上充电器，把自己带的饭往微波炉里一转，整个人就缓过来了。就这一口水、"
     "一个插座，让我觉得这个城市把我往里装了，心里头暖和。"),
    ("13800000212", "魏平", "courier", QIANJIANGYUAN,
     "我们这行虽然天天在外面跑，其实各跑各的，一天下来连跟同事说句话的工夫都不多。有时候送完"
     "一车货，坐在车上歇会儿，旁边连个认识的人都没有。但自打有了党群服务中心，感觉就不一样了，"
     "平时没什么事，路过就进去坐坐，喝口水，跟那儿的人聊两句，就跟上邻居串门似的。真要碰上什么"
     "事儿，你也知道上哪儿能问到人，找到人帮忙。我们不怕跑腿出力，就怕心里没着没落的。有这么个"
     "地方，踏实多了。"),
    ("13800000213", "李文琼", "ride_hailing", CHUITAI,
     "我常跑夜班，晚上收车往回开的时候，路上车少人稀，整条街都暗乎乎的，可党群服务中心门口那盏"
     "灯总亮着。我每次远远看见那灯，心里就舒坦。我们每天拉着客人，把他们一个一个送到家门口，看"
     "人家屋里灯亮着、有人等着，说不羡慕是假的。现在，党群服务中心那盏灯也给我们亮着呢，那是我"
     "们歇歇脚的地方。它让我觉得，这座城市没把我们路上跑的这些人忘了。"),
]

# Waiting for review in 义驾山: one that may be published anonymously, one only for staff.
WAITING = [
    (StoryKind.STORY, True,
     "换电柜装到取餐点旁边以后，早高峰再也不用绕路去换电了，一天能多跑七八单。"),
    (StoryKind.FEEDBACK, False,
     "驿站晚上十点就关门了，夜里跑单的兄弟们希望能开到十二点。"),
]


def _reviewer(code: str) -> User | None:
    """A staff member who may publish in `code`: the nearest one above it, else a
    superuser."""
    profiles = (StaffProfile.objects.filter(
        role__in=MANAGER_ROLES)
        .select_related("user", "org_unit__region"))
    best = None
    for profile in profiles:
        prefix = profile.org_unit.region.prefix
        if covers(prefix, code) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, profile.user)
    if best:
        return best[1]
    return User.objects.filter(is_superuser=True).order_by("pk").first()


def _voice(phone: str, name: str, occupation: str, code: str, now: datetime) -> User:
    user = User.objects.filter(phone=phone).first()
    if user is None:
        user = User.objects.create(username=phone, phone=phone, kind=UserKind.WORKER,
                                   display_name=name, password="!")  # noqa: S106 - unusable
    WorkerProfile.objects.update_or_create(user=user, defaults={
        "occupation": occupation, "platforms": [], "home_region_id": code,
        "consent_version": current_notice_version(), "consented_at": now})
    return user


@transaction.atomic
def seed_voice(rng: random.Random, *, now: datetime | None = None) -> int:
    """Write the demo stories; returns how many were written. Idempotent per text."""
    now = now or timezone.now()
    regions = set(Region.objects.filter(code__in=[YIJIASHAN, QIANJIANGYUAN, CHUITAI])
                  .values_list("code", flat=True))
    written = 0
    for phone, name, occupation, code, text in ARTICLE_VOICES:
        if code not in regions or Story.objects.filter(text=text).exists():
            continue
        author = _voice(phone, name, occupation, code, now)
        story = services.story_create(author=author, text=text, consent_publish=True,
                                      show_name=True, display_name=name)
        reviewer = _reviewer(code)
        if reviewer is not None:
            services.story_publish(actor=reviewer, story_id=story.pk)
        written += 1
    riders = list(WorkerProfile.objects.filter(home_region_id=YIJIASHAN,
                                               occupation="food_delivery")
                  .exclude(user__phone__in=[v[0] for v in ARTICLE_VOICES])
                  .select_related("user").order_by("user_id")[:20])
    for kind, consent, text in WAITING:
        if not riders or Story.objects.filter(text=text).exists():
            continue
        author = rng.choice(riders).user
        services.story_create(author=author, text=text, kind=kind, consent_publish=consent)
        written += 1
    return written
