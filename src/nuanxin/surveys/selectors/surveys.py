"""Reads of surveys, scoped to the viewer: staff see the surveys aimed at their region,
workers the published surveys aimed at them."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import UserKind, WorkerProfile
from nuanxin.accounts.selectors import worker_profile_of
from nuanxin.common.codes import SignedCode
from nuanxin.common.errors import NotFound
from nuanxin.common.scoping import ancestor_prefixes
from nuanxin.surveys.access import require_manager
from nuanxin.surveys.models import Participation, Question, Response, Survey, SurveyStatus

SURVEY_LINK = SignedCode(salt="nuanxin.surveys.answer", field="v",
                         invalid=_("这不是有效的问卷二维码或链接。"))


def survey_token(survey_id: int) -> str:
    """The signed token in a survey's link and QR code (only this server can make one).

    It carries no time: the survey's answering window decides when it works, and the same
    survey always has the same link, so a printed code and a shared link stay one thing."""
    return SURVEY_LINK.make(survey_id)


def survey_id_from_token(token: str) -> int:
    return SURVEY_LINK.read(token)


def _not_found() -> NotFound:
    return NotFound(*Survey.not_found)


def surveys_for_staff(user) -> QuerySet[Survey]:
    """Surveys aimed at a region inside a manager's scope, with their response counts."""
    require_manager(user)
    responses = (Response.objects.filter(survey=OuterRef("pk")).order_by()
                 .values("survey").annotate(n=Count("pk")).values("n"))
    return (Survey.objects.visible_to(user)
            .select_related("region", "org_unit")
            .annotate(response_count=Coalesce(Subquery(responses), 0)))


def survey_for_staff(user, survey_id: int) -> Survey:
    survey = surveys_for_staff(user).filter(pk=survey_id).first()
    if survey is None:
        raise _not_found()
    return survey


def questions_of(survey: Survey) -> list[Question]:
    return list(survey.questions.prefetch_related("options", "show_if_options")
                .select_related("show_if").order_by("position"))


def survey_for_answering(survey_id: int) -> Survey:
    """A published or closed survey with its region (drafts do not exist for workers)."""
    survey = (Survey.objects.select_related("region")
              .filter(pk=survey_id).exclude(status=SurveyStatus.DRAFT).first())
    if survey is None:
        raise _not_found()
    return survey


def surveys_open_for(worker, *, now: datetime | None = None) -> list[dict]:
    """Published surveys in their window aimed at the worker, each with whether they have
    already answered it."""
    now = now or timezone.now()
    if not getattr(worker, "is_authenticated", False) or worker.kind != UserKind.WORKER:
        return []
    profile = worker_profile_of(worker)
    if profile is None or profile.home_region_id is None:
        return []
    # Aimed at the worker: the survey's region is their home community or contains it.
    around_home = ancestor_prefixes(profile.home_region_id)
    candidates = (Survey.objects.filter(status=SurveyStatus.PUBLISHED, opens_at__lte=now,
                                        closes_at__gt=now, region__prefix__in=around_home)
                  .select_related("region").order_by("closes_at", "pk"))
    surveys = [s for s in candidates
               if not s.occupations or profile.occupation in s.occupations]
    answered = set(Participation.objects.filter(worker=worker, survey__in=surveys)
                   .values_list("survey_id", flat=True))
    return [{"survey": s, "answered": s.pk in answered, "token": survey_token(s.pk)}
            for s in surveys]


def target_group_size(survey: Survey) -> int:
    """Workers the survey is aimed at (its response rate's denominator)."""
    qs = WorkerProfile.objects.in_region(survey.region.prefix)
    if survey.occupations:
        qs = qs.filter(occupation__in=survey.occupations)
    return qs.count()
