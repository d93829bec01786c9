"""Staff console: the survey builder, QR codes, live results and export, and home visits
(record, follow up, turn into needs, the weekly plan, coverage). Thin: parse a form, call a
service or a selector, render. Everything outside the staff member's region is 404.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nuanxin.accounts.models import MANAGER_ROLES, Occupation
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.common.exports import xlsx_response
from nuanxin.common.forms import OUT_OF_REACH, form_page, posted_back, run_action
from nuanxin.common.qr import Poster, poster_page, qr_file_response
from nuanxin.common.scoping import console_view as _console_view
from nuanxin.needs.services import NeedCategory
from nuanxin.surveys import qr, selectors, services, xlsx
from nuanxin.surveys.access import NOT_A_MANAGER
from nuanxin.surveys.answering import question_rows
from nuanxin.surveys.forms import (
    MIN_OPTION_ROWS,
    CrossTabForm,
    FollowUpForm,
    PlanForm,
    QuestionForm,
    ReopenForm,
    SurveyForm,
    ToNeedForm,
    VisitForm,
)
from nuanxin.surveys.models import (
    CHOICE_KINDS,
    Question,
    QuestionKind,
    SurveyStatus,
    VisitAnswer,
    VisitQuestion,
)
from nuanxin.surveys.services.visits import first_sentence

PAGE_SIZE = 50
TEXT_PAGE_SIZE = 50
TEXT_PREVIEW = 5


# Staff who run surveys and visits only.
console_view = _console_view(roles=MANAGER_ROLES, denied=NOT_A_MANAGER)


def _survey_url(survey_id: int) -> str:
    return reverse("surveys_console:detail", args=[survey_id])


def need_url(need_id: int) -> str:
    return f"/console/needs/{need_id}/"


def category_label(code: str) -> str:
    try:
        return str(NeedCategory(code).label)
    except ValueError:
        return code


# --- surveys ------------------------------------------------------------------------------

@require_GET
@console_view
def survey_list(request):
    status = request.GET.get("status", "")
    qs = selectors.surveys_for_staff(request.user)
    if status in SurveyStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "surveys/console/survey_list.html",
                  {"page": page, "status": status, "statuses": SurveyStatus.choices})


@require_http_methods(["GET", "POST"])
@console_view
def survey_create(request):
    form = SurveyForm(request.POST or None, user=request.user,
                      initial=SurveyForm.initial_for(user=request.user))
    return form_page(
        request, form,
        save=lambda _: services.survey_create(actor=request.user, data=form.to_data()),
        done=lambda survey: (gettext("问卷已创建，请添加题目。"), _survey_url(survey.pk)),
        template="surveys/console/survey_form.html", survey=None)


@require_http_methods(["GET", "POST"])
@console_view
def survey_edit(request, survey_id: int):
    survey = selectors.survey_for_staff(request.user, survey_id)
    form = SurveyForm(request.POST or None, user=request.user,
                      initial=SurveyForm.initial_for(survey))
    if survey.status == SurveyStatus.PUBLISHED:
        for name, field in form.fields.items():
            if name != "closes_at":
                field.disabled = True
    return form_page(
        request, form,
        save=lambda _: services.survey_update(actor=request.user, survey_id=survey.pk,
                                              data=form.to_data()),
        done=lambda _: (gettext("已保存。"), _survey_url(survey.pk)),
        template="surveys/console/survey_form.html", survey=survey)




@require_GET
@console_view
def survey_detail(request, survey_id: int):
    survey = selectors.survey_for_staff(request.user, survey_id)
    questions = selectors.questions_of(survey)
    positions = {q.pk: q.position for q in questions}
    rows = []
    for q in questions:
        rows.append({"q": q, "options": [{"label": o.label,
                                          "category": category_label(o.need_category)
                                          if o.need_category else ""}
                                         for o in q.options.all()],
                     "condition": (positions.get(q.show_if_id),
                                   gettext("”或“").join(o.label
                                                        for o in q.show_if_options.all()))
                     if q.show_if_id else None})
    return render(request, "surveys/console/survey_detail.html", {
        "survey": survey, "rows": rows, "draft": survey.status == SurveyStatus.DRAFT,
        "kinds": QuestionKind.choices,
        "history": services.SURVEY_WORKFLOW.timeline(survey, newest_first=True, limit=30),
        "occupations": [str(Occupation(o).label) for o in survey.occupations
                        if o in Occupation.values],
        "reopen_form": ReopenForm(initial={
            "closes_at": timezone.localtime().replace(second=0, microsecond=0)
            + timedelta(days=7)}),
        "answer_url": qr.answer_url(request, survey.pk)
        if survey.status != SurveyStatus.DRAFT else "",
    })


@require_POST
@console_view
def survey_transition(request, survey_id: int, action: str):
    survey = selectors.survey_for_staff(request.user, survey_id)
    try:
        if action == "publish":
            services.survey_publish(actor=request.user, survey_id=survey.pk)
            messages.success(request, gettext("问卷已发布，题目从现在起不能再修改。"))
        elif action == "close":
            services.survey_close(actor=request.user, survey_id=survey.pk)
            messages.success(request, gettext("问卷已结束，不再接受新的答卷。"))
        elif action == "reopen":
            form = ReopenForm(request.POST)
            if not form.is_valid():
                raise ServiceError("invalid_window", _("请填写新的截止时间。"))
            services.survey_reopen(actor=request.user, survey_id=survey.pk,
                                   closes_at=form.cleaned_data["closes_at"])
            messages.success(request, gettext("问卷已重新开放。"))
        elif action == "copy":
            copy = services.survey_copy(actor=request.user, survey_id=survey.pk)
            messages.success(request, gettext("已复制为新的草稿。"))
            return redirect("surveys_console:detail", copy.pk)
        elif action == "delete":
            services.survey_delete(actor=request.user, survey_id=survey.pk)
            messages.success(request, gettext("草稿已删除。"))
            return redirect("surveys_console:list")
        else:
            raise NotFound("not_found", _("页面不存在。"))
    except OUT_OF_REACH:
        raise
    except ServiceError as error:
        messages.error(request, str(error.message))
    return redirect("surveys_console:detail", survey.pk)


def _question_form(request, survey, question=None):
    questions = selectors.questions_of(survey)
    earlier = [q for q in questions
               if question is None or (q.position < question.position and q.pk != question.pk)]
    existing = question.options.count() if question else 0
    try:
        rows = int(request.POST.get("option_rows", 0))
    except ValueError:
        rows = 0
    rows = min(max(rows, existing + 2, MIN_OPTION_ROWS), 20)
    if request.method == "POST" and request.POST.get("more_rows"):
        rows = min(rows + 4, 20)
    initial = QuestionForm.initial_for(question) if question else {
        "kind": request.GET.get("kind") if request.GET.get("kind") in QuestionKind.values
        else QuestionKind.SINGLE, "required": True, "scale_max": 5}
    data = request.POST if request.method == "POST" else None
    return QuestionForm(data, earlier=earlier, option_rows=rows, initial=initial)


@require_http_methods(["GET", "POST"])
@console_view
def question_edit(request, survey_id: int, question_id: int | None = None):
    survey = selectors.survey_for_staff(request.user, survey_id)
    question = None
    if question_id is not None:
        question = Question.objects.filter(pk=question_id, survey=survey).first()
        if question is None:
            raise NotFound("question_not_found", _("找不到这道题。"))
    if survey.status != SurveyStatus.DRAFT:
        messages.error(request, gettext("问卷发布后题目不能再修改。"))
        return redirect("surveys_console:detail", survey.pk)
    form = _question_form(request, survey, question)
    template = "surveys/console/question_form.html"
    context = {"survey": survey, "question": question, "choice_kinds": list(CHOICE_KINDS)}
    if request.POST.get("more_rows"):  # only more option rows asked for: nothing to save yet
        return render(request, template, {"form": form, **context})

    def save(_data):
        if question is None:
            return services.question_add(actor=request.user, survey_id=survey.pk,
                                         data=form.to_data())
        return services.question_update(actor=request.user, question_id=question.pk,
                                        data=form.to_data())

    def done(_question):
        if request.POST.get("then") == "another":
            return gettext("题目已保存。"), f"{request.path}?kind={form.cleaned_data['kind']}"
        return gettext("题目已保存。"), _survey_url(survey.pk)

    return form_page(request, form, save=save, done=done, template=template, **context)


@require_POST
@console_view
def question_action(request, survey_id: int, question_id: int, action: str):
    survey = selectors.survey_for_staff(request.user, survey_id)
    if not Question.objects.filter(pk=question_id, survey=survey).exists():
        raise NotFound("question_not_found", _("找不到这道题。"))
    try:
        if action == "up":
            services.question_move(actor=request.user, question_id=question_id, offset=-1)
        elif action == "down":
            services.question_move(actor=request.user, question_id=question_id, offset=1)
        elif action == "delete":
            services.question_delete(actor=request.user, question_id=question_id)
            messages.success(request, gettext("题目已删除。"))
        else:
            raise NotFound("not_found", _("页面不存在。"))
    except OUT_OF_REACH:
        raise
    except ServiceError as error:
        messages.error(request, str(error.message))
    return redirect(f"{redirect('surveys_console:detail', survey.pk).url}#q{question_id}")


@require_GET
@console_view
def survey_preview(request, survey_id: int):
    survey = selectors.survey_for_staff(request.user, survey_id)
    return render(request, "surveys/console/preview.html", {
        "survey": survey, "rows": question_rows(selectors.questions_of(survey)),
        "preview": True})


# --- link and QR code ---------------------------------------------------------------------

@require_GET
@console_view
def survey_qr(request, survey_id: int):
    survey = selectors.survey_for_staff(request.user, survey_id)
    if survey.status == SurveyStatus.DRAFT:
        messages.error(request, gettext("问卷发布后才有链接和二维码。"))
        return redirect("surveys_console:detail", survey.pk)
    return poster_page(request, Poster(
        url=qr.answer_url(request, survey.pk), url_label=_("答题链接"), title=_("链接和二维码"),
        name=survey.title, org=_("暖新 · 问卷调查"), call=_("扫码答题"), alt=_("问卷二维码"),
        help=_("把链接发到骑手群，或打印二维码贴在驿站、取餐点。二维码带签名，无法伪造；只有目标人群里登录的骑手能作答，每人一次。"),
        foot=gettext("大约 1 分钟 · %(d)s 截止") % {
            "d": dateformat.format(timezone.localtime(survey.closes_at), "n月j日 H:i")},
        svg_url=reverse("surveys_console:qr_svg", args=[survey.pk]),
        png_url=reverse("surveys_console:qr_png", args=[survey.pk]),
        crumbs=((reverse("surveys_console:list"), _("问卷")),),
        tabs="surveys/console/_survey_tabs.html", status="surveys/console/_status.html"),
        survey=survey)


def _qr_file(request, survey_id: int, kind: str) -> HttpResponse:
    survey = selectors.survey_for_staff(request.user, survey_id)
    if survey.status == SurveyStatus.DRAFT:
        raise NotFound("survey_not_published", _("问卷发布后才有链接和二维码。"))
    return qr_file_response(request, qr.answer_url(request, survey.pk), kind=kind,
                            title=survey.title, filename=f"nuanxin-survey-{survey.pk}-qr")


@require_GET
@console_view
def survey_qr_png(request, survey_id: int):
    return _qr_file(request, survey_id, "png")


@require_GET
@console_view
def survey_qr_svg(request, survey_id: int):
    return _qr_file(request, survey_id, "svg")


# --- results ------------------------------------------------------------------------------

def _chart_data(results) -> list[dict]:
    """What the charts draw: per question, labels and counts (no personal data)."""
    out = []
    for r in results.questions:
        if not r.buckets:
            continue
        out.append({"id": r.question.pk, "kind": r.question.kind,
                    "labels": [b.label for b in r.buckets],
                    "counts": [b.count for b in r.buckets],
                    "percents": [b.percent for b in r.buckets]})
    return out


@require_GET
@console_view
def survey_results(request, survey_id: int):
    survey = selectors.survey_for_staff(request.user, survey_id)
    results = selectors.survey_results(survey)
    questions = [r.question for r in results.questions]
    crosstab, crosstab_error = None, ""
    form = CrossTabForm(request.GET if "row" in request.GET else None, questions=questions)
    if form.is_bound:
        if form.is_valid():
            try:
                crosstab = selectors.crosstab(survey, form.cleaned_data["row"],
                                              form.cleaned_data["col"])
            except ServiceError as error:
                crosstab_error = error.message
        else:
            crosstab_error = gettext("请选择两道题。")
    texts = {}
    for r in results.questions:
        if r.text_count:
            texts[r.question.pk] = list(selectors.texts_of(survey, r.question)[:TEXT_PREVIEW])
    rows = [{"r": r, "texts": texts.get(r.question.pk, []),
             "needs": {b.option_id: need_url(b.need_id) for b in r.buckets if b.need_id}}
            for r in results.questions]
    target = selectors.target_group_size(survey)
    context = {
        "survey": survey, "results": results, "rows": rows, "form": form,
        "crosstab": crosstab, "crosstab_table": crosstab.table() if crosstab else None,
        "crosstab_error": crosstab_error, "target": target,
        "rate": round(100 * results.responses / target, 1) if target else None,
        "chart_data": _chart_data(results), "min_anonymous": selectors.MIN_ANONYMOUS_RESPONSES,
    }
    template = ("surveys/console/_results_body.html" if request.headers.get("HX-Request")
                else "surveys/console/results.html")
    return render(request, template, context)


@require_GET
@console_view
def survey_texts(request, survey_id: int, question_id: int):
    survey = selectors.survey_for_staff(request.user, survey_id)
    question = Question.objects.filter(pk=question_id, survey=survey).first()
    if question is None:
        raise NotFound("question_not_found", _("找不到这道题。"))
    if selectors.texts_withheld(survey):
        messages.error(request, gettext("匿名问卷至少有 %(n)d 份答卷后才显示结果。")
                       % {"n": selectors.MIN_ANONYMOUS_RESPONSES})
        return redirect("surveys_console:results", survey.pk)
    page = Paginator(selectors.texts_of(survey, question), TEXT_PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "surveys/console/texts.html",
                  {"survey": survey, "question": question, "page": page})


@require_GET
@console_view
def survey_export(request, survey_id: int):
    survey = selectors.survey_for_staff(request.user, survey_id)
    try:
        content = xlsx.survey_workbook(survey)
    except OUT_OF_REACH:
        raise
    except ServiceError as error:
        messages.error(request, str(error.message))
        return redirect("surveys_console:results", survey.pk)
    day = timezone.localdate().strftime("%Y%m%d")
    return xlsx_response(content, filename=f"{survey.title}-{day}.xlsx")


@require_POST
@console_view
def survey_raise_need(request, survey_id: int, option_id: int):
    survey = selectors.survey_for_staff(request.user, survey_id)
    return run_action(
        request,
        lambda: services.survey_raise_need(actor=request.user, survey_id=survey.pk,
                                           option_id=option_id),
        success=lambda need_id: gettext("已列入需求清单（需求 #%(id)d）。") % {"id": need_id},
        back=reverse("surveys_console:results", args=[survey.pk]))


# --- home visits --------------------------------------------------------------------------

def _visit_rows(visits) -> list[dict]:
    visits = list(visits)
    answers: dict[int, dict] = {}
    for a in VisitAnswer.objects.filter(visit__in=visits):
        answers.setdefault(a.visit_id, {})[a.question] = a
    return [{"visit": v, "difficulty": answers.get(v.pk, {}).get(VisitQuestion.DIFFICULTY),
             "community": answers.get(v.pk, {}).get(VisitQuestion.COMMUNITY)} for v in visits]


@require_GET
@console_view
def visit_home(request):
    today = timezone.localdate()
    cover = selectors.coverage(request.user, today=today)
    monday, sunday, plans = selectors.plans_in_week(request.user, today)
    page = Paginator(selectors.visits_visible_to(request.user), PAGE_SIZE).get_page(
        request.GET.get("page"))
    follow_ups = list(selectors.follow_ups_open(request.user)[:20])
    return render(request, "surveys/console/visit_home.html", {
        "coverage": cover, "plans_total": len(plans),
        "plans_done": sum(1 for p in plans if p.visit_id), "monday": monday, "sunday": sunday,
        "page": page, "rows": _visit_rows(page), "follow_ups": follow_ups, "today": today,
    })


@require_http_methods(["GET", "POST"])
@console_view
def visit_create(request):
    now = timezone.localtime().replace(second=0, microsecond=0)
    initial = {"visited_at": now, "worker_phone": request.GET.get("phone", "")[:20]}
    form = VisitForm(request.POST or None, user=request.user, initial=initial)
    return form_page(
        request, form,
        save=lambda _: services.visit_record(actor=request.user, data=form.to_data()),
        done=lambda visit: (gettext("走访已记录。"),
                            reverse("surveys_console:visit_detail", args=[visit.pk])),
        template="surveys/console/visit_form.html")


@require_GET
@console_view
def visit_detail(request, visit_id: int):
    visit = selectors.visit_for(request.user, visit_id)
    answers = []
    for a in visit.answers.all():
        initial = {"title": first_sentence(a.text) if a.text else "",
                   "category": a.categories[0] if a.categories else NeedCategory.OTHER}
        answers.append({"a": a, "label": VisitQuestion(a.question).label,
                        "categories": [category_label(c) for c in a.categories],
                        "form": ToNeedForm(initial=initial, prefix=f"a{a.pk}"),
                        "need_url": need_url(a.need_id) if a.need_id else ""})
    return render(request, "surveys/console/visit_detail.html", {
        "visit": visit, "answers": answers,
        "follow_ups": visit.follow_ups.all(), "today": timezone.localdate(),
        "follow_up_form": FollowUpForm(initial={
            "due_on": timezone.localdate() + timedelta(days=7)}),
    })


@require_POST
@console_view
def visit_to_need(request, visit_id: int, answer_id: int):
    visit = selectors.visit_for(request.user, visit_id)
    if not visit.answers.filter(pk=answer_id).exists():
        raise NotFound("visit_not_found", _("找不到这次走访记录。"))
    form = ToNeedForm(request.POST, prefix=f"a{answer_id}")
    if not form.is_valid():
        messages.error(request, gettext("请填写需求标题和类别。"))
    else:
        try:
            need_id = services.visit_answer_to_need(
                actor=request.user, answer_id=answer_id, title=form.cleaned_data["title"],
                category=form.cleaned_data["category"], urgency=form.cleaned_data["urgency"])
        except OUT_OF_REACH:
            raise
        except ServiceError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, gettext("已列入需求清单（需求 #%(id)d）。") % {"id": need_id})
    return redirect("surveys_console:visit_detail", visit.pk)


@require_POST
@console_view
def visit_follow_up(request, visit_id: int):
    visit = selectors.visit_for(request.user, visit_id)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            services.follow_up_add(actor=request.user, visit_id=visit.pk,
                                   note=form.cleaned_data["note"],
                                   due_on=form.cleaned_data["due_on"])
        except OUT_OF_REACH:
            raise
        except ServiceError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, gettext("已添加跟进事项。"))
    else:
        messages.error(request, gettext("请填写跟进事项和期限。"))
    return redirect("surveys_console:visit_detail", visit.pk)


@require_POST
@console_view
def follow_up_done(request, follow_up_id: int):
    item = services.follow_up_set_done(actor=request.user, follow_up_id=follow_up_id,
                                       done=request.POST.get("done", "1") == "1")
    target = request.POST.get("next", "")
    if target == "home":
        return redirect("surveys_console:visits")
    return redirect("surveys_console:visit_detail", item.visit_id)


def _week_start(value: str | None) -> date:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        day = timezone.localdate()
    return day - timedelta(days=day.weekday())


@require_http_methods(["GET", "POST"])
@console_view
def visit_plan(request):
    monday = _week_start(request.GET.get("week"))
    form = PlanForm(request.POST or None, initial={"planned_on": max(monday,
                                                                     timezone.localdate())})
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_add(actor=request.user,
                                     worker_phone=form.cleaned_data["worker_phone"],
                                     planned_on=form.cleaned_data["planned_on"])
        except PermissionDenied:
            raise
        except ServiceError as error:
            form.add_error("worker_phone" if error.code in ("worker_not_found", "invalid_phone")
                           else "planned_on", str(error.message))
        else:
            messages.success(request, gettext("已加入走访计划。"))
            return redirect(f"{request.path}?week={_week_start(plan.planned_on.isoformat())}")
    monday, sunday, plans = selectors.plans_in_week(request.user, monday)
    days = []
    for i in range(7):
        day = monday + timedelta(days=i)
        days.append({"day": day, "plans": [p for p in plans if p.planned_on == day]})
    return render(request, "surveys/console/visit_plan.html", {
        "form": form, "monday": monday, "sunday": sunday, "days": days,
        "planned": len(plans), "done": sum(1 for p in plans if p.visit_id),
        "previous": monday - timedelta(days=7), "next": monday + timedelta(days=7),
        "today": timezone.localdate(),
    })


@require_POST
@console_view
def plan_quick_add(request):
    """'Plan a visit' from the not-yet-visited list: worker id and a date."""
    try:
        worker_id = int(request.POST.get("worker", ""))
        planned_on = date.fromisoformat(request.POST.get("planned_on", ""))
    except ValueError:
        messages.error(request, gettext("请选择日期。"))
        return redirect("surveys_console:coverage")
    return run_action(
        request,
        lambda: services.plan_add(actor=request.user, worker_id=worker_id,
                                  planned_on=planned_on),
        success=gettext("已加入走访计划。"),
        back=posted_back(request, reverse("surveys_console:coverage"),
                         within="/console/surveys/", field="back"))


@require_POST
@console_view
def plan_remove(request, plan_id: int):
    week = urlencode({"week": request.POST.get("week", "")})
    return run_action(
        request, lambda: services.plan_remove(actor=request.user, plan_id=plan_id),
        success=gettext("已取消这条走访计划。"), back=f"{reverse('surveys_console:plan')}?{week}")


@require_GET
@console_view
def visit_coverage(request):
    today = timezone.localdate()
    community = request.GET.get("community", "")[:12]
    cover = selectors.coverage(request.user, today=today)
    page = Paginator(selectors.not_visited(request.user, today=today, community=community),
                     PAGE_SIZE).get_page(request.GET.get("page"))
    communities = selectors.coverage_by_community(request.user, today=today)
    chosen = next((c for c in communities if c["code"] == community), None)
    return render(request, "surveys/console/coverage.html", {
        "coverage": cover, "communities": communities,
        "page": page, "community": community, "tomorrow": today + timedelta(days=1),
        "community_label": f"{chosen['name']}（{chosen['place']}）" if chosen else community,
    })
