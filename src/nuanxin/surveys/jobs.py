from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from nuanxin.surveys.services import surveys_close_expired

ANNOUNCE_BATCH = 5000


@db_periodic_task(crontab(minute="*/10"))
@lock_task("surveys-close-expired")
def close_expired_surveys() -> int:
    """Every ten minutes: published surveys past their closing time become closed (answers
    are refused at the closing time anyway; this makes the state say so)."""
    return surveys_close_expired()


@db_task(retries=3, retry_delay=30)
def announce_survey(survey_id: int) -> int:
    """Tell the target group a survey is open: one inbox message each, in batches (a
    district's survey reaches tens of thousands). Repeats are harmless (deduplicated)."""
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.translation import gettext

    from nuanxin.accounts.models import WorkerProfile
    from nuanxin.accounts.services import notify_many
    from nuanxin.surveys.models import Participation, Survey
    from nuanxin.surveys.selectors import survey_token
    from nuanxin.surveys.services.responses import announcement_key

    survey = Survey.objects.select_related("region").filter(pk=survey_id).first()
    if survey is None:
        return 0
    people = (WorkerProfile.objects.in_region(survey.region.prefix)
              .order_by("user_id").values_list("user_id", flat=True))
    if survey.occupations:
        people = people.filter(occupation__in=survey.occupations)
    # Whoever answered already (through a poster's code) is not asked again.
    people = people.exclude(user_id__in=Participation.objects.filter(survey=survey)
                            .values("worker_id"))
    title = gettext("新问卷：%(title)s") % {"title": survey.title}
    body = gettext("大约一分钟，%(date)s 截止。") % {
        "date": timezone.localtime(survey.closes_at).strftime("%m-%d %H:%M")}
    link = reverse("surveys:answer", args=[survey_token(survey.pk)])
    sent, batch = 0, []
    for user_id in people.iterator(chunk_size=ANNOUNCE_BATCH):
        batch.append(user_id)
        if len(batch) == ANNOUNCE_BATCH:
            notify_many(user_ids=batch, title=title, body=body, link=link,
                        dedupe_key=announcement_key(survey.pk))
            sent, batch = sent + len(batch), []
    if batch:
        notify_many(user_ids=batch, title=title, body=body, link=link,
                    dedupe_key=announcement_key(survey.pk))
        sent += len(batch)
    return sent
