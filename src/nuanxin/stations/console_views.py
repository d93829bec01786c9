"""Staff console pages for stations: list, edit, hours, exceptions, campaigns, visits, QR
posters and the .xlsx import/export. Thin: parse a form, call a service or selector, render.

Everything is scoped to the staff member's region; anything outside it answers 404.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.common.exports import xlsx_response
from nuanxin.common.forms import OUT_OF_REACH, form_page, run_action
from nuanxin.common.qr import Poster, poster_page, qr_file_response
from nuanxin.common.scoping import console_view
from nuanxin.stations import imports, qr, selectors, services, xlsx
from nuanxin.stations.amenities import amenity_label, codes_for
from nuanxin.stations.forms import (
    WEEKDAY_FIELDS,
    WEEKDAY_LABELS,
    CampaignEditForm,
    CampaignForm,
    ExceptionForm,
    ImportForm,
    StationForm,
    WeeklyHoursForm,
)
from nuanxin.stations.models import (
    CheckIn,
    HolidayCampaign,
    OpeningSpan,
    ScheduleException,
    Station,
)
from nuanxin.stations.presenters import span_text
from nuanxin.stations.schedule import status_at

PAGE_SIZE = 50
RECENT_CHECKINS = 10
CAMPAIGN_CANDIDATES = 100
CAMPAIGN_ADD_ALL_LIMIT = 5000


# --- small scoped reads used only by these pages ------------------------------------------

def _campaign_for(user, campaign_id: int) -> HolidayCampaign:
    return HolidayCampaign.objects.select_related("region").get_visible_or_404(
        user, pk=campaign_id)


def _weekly_rows(spans) -> list[dict]:
    per_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, opens, closes in spans:
        per_day.setdefault(weekday, []).append((opens, closes))
    return [{"label": WEEKDAY_LABELS[i],
             "spans": [span_text(o, c) for o, c in sorted(per_day.get(i, []))]}
            for i in range(7)]


def _exception_rows(exceptions, today) -> list[dict]:
    return [{"exception": e, "past": e.date < today,
             "hours": "" if e.closed else span_text(e.opens, e.closes)} for e in exceptions]


def _station_spans(station) -> list[tuple[int, int, int]]:
    return list(OpeningSpan.objects.filter(station=station)
                .values_list("weekday", "opens", "closes"))


# --- stations -----------------------------------------------------------------------------

@require_GET
@console_view
def station_list(request):
    query = request.GET.get("q", "").strip()[:80]
    stations = selectors.stations_for_staff(request.user, search=query)
    page = Paginator(stations, PAGE_SIZE).get_page(request.GET.get("page"))
    schedules = selectors.schedules_for([s.pk for s in page])
    now = selectors.local_now()
    rows = [{"station": s, "status": status_at(schedules[s.pk], now)} for s in page]
    return render(request, "stations/console/station_list.html",
                  {"page": page, "rows": rows, "query": query})


@require_http_methods(["GET", "POST"])
@console_view
def station_create(request):
    form = StationForm(request.POST or None, user=request.user)
    return form_page(
        request, form,
        save=lambda _: services.station_create(user=request.user, data=form.to_data()),
        done=lambda station: (gettext("已新建服务阵地“%(name)s”。请设置营业时间。")
                              % {"name": station.name},
                              reverse("console:station_hours", args=[station.pk])),
        template="stations/console/station_form.html", station=None)


@require_GET
@console_view
def station_detail(request, station_id: int):
    station = selectors.station_for_staff(request.user, station_id)
    schedule = selectors.schedule_of(station)
    now = selectors.local_now()
    today = now.date()
    recent = (CheckIn.objects.filter(station=station).select_related("worker")
              .order_by("-at")[:RECENT_CHECKINS])
    context = {
        "station": station,
        "status": status_at(schedule, now),
        "today_spans": [span_text(o, c) for o, c in schedule.spans_on(today)],
        "weekly": _weekly_rows(_station_spans(station)),
        "amenities": [amenity_label(c) for c in codes_for(station.amenity_bits)],
        "visits_today": selectors.visits_today(station),
        "recent_checkins": [{"at": c.at, "phone": c.worker.masked_phone} for c in recent],
        "exceptions": _exception_rows(
            ScheduleException.objects.filter(station=station, date__gte=today)[:5], today),
        "campaigns": station.campaigns.filter(ends_on__gte=today).order_by("starts_on"),
    }
    return render(request, "stations/console/station_detail.html", context)


@require_http_methods(["GET", "POST"])
@console_view
def station_edit(request, station_id: int):
    station = selectors.station_for_staff(request.user, station_id)
    form = StationForm(request.POST or None, user=request.user,
                       initial=StationForm.initial_for(station))
    return form_page(
        request, form,
        save=lambda _: services.station_update(user=request.user, station_id=station.pk,
                                               data=form.to_data()),
        done=lambda _: (gettext("已保存。"),
                        reverse("console:station_detail", args=[station.pk])),
        template="stations/console/station_form.html", station=station)


@require_http_methods(["GET", "POST"])
@console_view
def station_hours(request, station_id: int):
    station = selectors.station_for_staff(request.user, station_id)
    copied = False
    if request.method == "POST" and request.POST.get("action") == "copy_monday":
        data = request.POST.copy()
        for code in WEEKDAY_FIELDS[1:]:
            data[code] = data.get("mon", "")
        form = WeeklyHoursForm(initial=data.dict())
        copied = True
    elif request.method == "POST":
        form = WeeklyHoursForm(request.POST)
        if form.is_valid():
            try:
                services.station_set_hours(user=request.user, station_id=station.pk,
                                           spans=form.cleaned_data["spans"])
            except NotFound:
                raise
            except ServiceError as error:
                form.add_error(None, str(error.message))
            else:
                messages.success(request, gettext("营业时间已保存。"))
                return redirect("console:station_detail", station.pk)
    else:
        form = WeeklyHoursForm(initial=WeeklyHoursForm.initial_for(_station_spans(station)))
    return render(request, "stations/console/station_hours.html",
                  {"station": station, "form": form, "copied": copied})


@require_http_methods(["GET", "POST"])
@console_view
def station_exceptions(request, station_id: int):
    station = selectors.station_for_staff(request.user, station_id)
    form = ExceptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.station_add_exception(
                user=request.user, station_id=station.pk, day=d["date"],
                closed=d["mode"] == ExceptionForm.CLOSED, opens=d["opens"], closes=d["closes"],
                reason=d["reason"],
            )
        except OUT_OF_REACH:
            raise
        except ServiceError as error:
            form.add_error("hours" if error.code == "invalid_hours" else None,
                           str(error.message))
        else:
            messages.success(request, gettext("已添加 %(date)s 的例外安排。") % {"date": d["date"]})
            return redirect("console:station_exceptions", station.pk)
    today = selectors.local_now().date()
    exceptions = ScheduleException.objects.filter(
        station=station, date__gte=today - timedelta(days=30)
    ).order_by("date", "opens")
    return render(request, "stations/console/station_exceptions.html",
                  {"station": station, "form": form, "rows": _exception_rows(exceptions, today)})


@require_POST
@console_view
def station_exception_delete(request, station_id: int, exception_id: int):
    station = selectors.station_for_staff(request.user, station_id)
    services.station_remove_exception(user=request.user, station_id=station.pk,
                                      exception_id=exception_id)
    messages.success(request, gettext("已删除这条例外安排。"))
    return redirect("console:station_exceptions", station.pk)


# --- QR posters ---------------------------------------------------------------------------

@require_GET
@console_view
def station_qr(request, station_id: int):
    station = selectors.station_for_staff(request.user, station_id)
    return poster_page(request, Poster(
        url=qr.checkin_url(request, station.pk), title=_("签到二维码"), name=station.name,
        org=_("暖新 · 新就业群体服务阵地"), call=_("扫码签到"), alt=_("签到二维码"),
        help=_("打印后贴在门口显眼处。骑手用微信或手机相机扫码即可签到；二维码带有签名，无法伪造。"),
        foot=_("歇歇脚、喝口热水、充个电，签个到让我们知道你来过。"),
        svg_url=reverse("console:station_qr_svg", args=[station.pk]),
        png_url=reverse("console:station_qr_png", args=[station.pk]),
        crumbs=((reverse("console:stations"), _("服务阵地")),),
        tabs="stations/console/_station_tabs.html"), station=station)


def _qr_file(request, station_id: int, kind: str) -> HttpResponse:
    station = selectors.station_for_staff(request.user, station_id)
    return qr_file_response(request, qr.checkin_url(request, station.pk), kind=kind,
                            title=station.name, filename=f"nuanxin-station-{station.pk}-qr")


@require_GET
@console_view
def station_qr_png(request, station_id: int):
    return _qr_file(request, station_id, "png")


@require_GET
@console_view
def station_qr_svg(request, station_id: int):
    return _qr_file(request, station_id, "svg")


# --- holiday campaigns --------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@console_view
def campaign_list(request):
    form = CampaignForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            campaign = services.campaign_create(
                user=request.user, name=d["name"], region_code=d["region"],
                starts_on=d["starts_on"], ends_on=d["ends_on"], opens=d["opens"],
                closes=d["closes"],
            )
        except PermissionDenied:
            raise
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(request, gettext("已创建活动“%(name)s”，请选择参加的服务阵地。")
                             % {"name": campaign.name})
            return redirect("console:campaign_detail", campaign.pk)
    today = selectors.local_now().date()
    campaigns = (HolidayCampaign.objects.visible_to(request.user).select_related("region")
                 .annotate(station_count=Count("stations"))
                 .order_by("-ends_on", "name"))
    rows = [{"campaign": c, "hours": span_text(c.opens, c.closes),
             "over": c.ends_on < today} for c in campaigns[:200]]
    return render(request, "stations/console/campaign_list.html", {"form": form, "rows": rows})


def _campaign_candidates(request, campaign: HolidayCampaign, query: str):
    qs = Station.objects.visible_to(request.user).in_region(campaign.region.prefix).exclude(
        campaigns=campaign).select_related("region").order_by("region_id", "name")
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(address__icontains=query))
    return qs


@require_http_methods(["GET", "POST"])
@console_view
def campaign_detail(request, campaign_id: int):
    campaign = _campaign_for(request.user, campaign_id)
    query = (request.POST.get("q") or request.GET.get("q") or "").strip()[:80]
    if request.method == "POST":
        if request.POST.get("action") == "add_all":
            ids = list(_campaign_candidates(request, campaign, query)
                       .values_list("pk", flat=True)[:CAMPAIGN_ADD_ALL_LIMIT])
        else:
            ids = [int(v) for v in request.POST.getlist("station") if v.isdigit()]
        if not ids:
            messages.error(request, gettext("请先选择要加入的服务阵地。"))
        else:
            services.campaign_add_stations(user=request.user, campaign_id=campaign.pk,
                                           station_ids=ids)
            messages.success(request, gettext("已加入 %(n)d 个服务阵地。") % {"n": len(ids)})
        return redirect("console:campaign_detail", campaign.pk)
    joined = campaign.stations.select_related("region").order_by("region_id", "name")
    page = Paginator(joined, 100).get_page(request.GET.get("page"))
    candidates = _campaign_candidates(request, campaign, query)
    return render(request, "stations/console/campaign_detail.html", {
        "campaign": campaign, "hours": span_text(campaign.opens, campaign.closes),
        "page": page, "query": query,
        "candidates": candidates[:CAMPAIGN_CANDIDATES],
        "candidate_count": candidates.count(),
    })


@require_http_methods(["GET", "POST"])
@console_view
def campaign_edit(request, campaign_id: int):
    campaign = _campaign_for(request.user, campaign_id)
    form = CampaignEditForm(request.POST or None, user=request.user,
                            initial=CampaignEditForm.initial_for(campaign))
    here = reverse("console:campaign_detail", args=[campaign.pk])
    return form_page(
        request, form,
        save=lambda d: services.campaign_update(
            user=request.user, campaign_id=campaign.pk, name=d["name"],
            starts_on=d["starts_on"], ends_on=d["ends_on"], opens=d["opens"],
            closes=d["closes"]),
        done=lambda _: (gettext("已保存。参加的服务阵地按新的日期和时间营业。"), here),
        title=gettext("修改活动：%(name)s") % {"name": campaign.name}, back=here)


@require_POST
@console_view
def campaign_delete(request, campaign_id: int):
    campaign = _campaign_for(request.user, campaign_id)
    name = campaign.name
    return run_action(
        request, lambda: services.campaign_delete(user=request.user, campaign_id=campaign.pk),
        success=gettext("已删除活动“%(name)s”，参加的服务阵地恢复平时的营业时间。")
        % {"name": name},
        back=reverse("console:campaigns"))


@require_POST
@console_view
def campaign_remove_station(request, campaign_id: int, station_id: int):
    campaign = _campaign_for(request.user, campaign_id)
    services.campaign_remove_station(user=request.user, campaign_id=campaign.pk,
                                     station_id=station_id)
    messages.success(request, gettext("已从活动中移除。"))
    return redirect("console:campaign_detail", campaign.pk)


# --- .xlsx import / export ----------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@console_view
def import_page(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    context = {"form": form, "max_mb": xlsx.MAX_UPLOAD_BYTES // (1024 * 1024),
               "max_rows": xlsx.MAX_ROWS}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            result = imports.stations_import(user=request.user,
                                             upload=form.cleaned_data["file"])
        except imports.ImportInvalid as error:
            context.update(problems=error.problems, error=error.message)
            status = 422
        except OUT_OF_REACH:
            raise
        except ServiceError as error:
            form.add_error("file", str(error.message))
            status = 400
        else:
            messages.success(
                request,
                gettext("导入完成：新建 %(created)d 个，更新 %(updated)d 个，"
                        "未变化 %(unchanged)d 个。")
                % {"created": result.created, "updated": result.updated,
                   "unchanged": result.unchanged})
            return redirect("console:import")
    elif request.method == "POST":
        status = 400
    return render(request, "stations/console/import.html", context, status=status)


@require_GET
@console_view
def import_template(request):
    return xlsx_response(imports.stations_template(user=request.user),
                         filename=gettext("服务阵地导入模板") + ".xlsx")


@require_GET
@console_view
def export(request):
    stamp = selectors.local_now().strftime("%Y%m%d-%H%M")
    return xlsx_response(imports.stations_export(user=request.user),
                         filename=f"{gettext('服务阵地')}-{stamp}.xlsx")



# --- Photos -------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@console_view
def station_photos(request, station_id: int):
    station = selectors.station_for_staff(request.user, station_id)
    error = None
    if request.method == "POST":
        upload = request.FILES.get("image")
        if upload is None:
            error = gettext("请选择一张照片。")
        else:
            try:
                services.station_add_photo(user=request.user, station_id=station.pk,
                                           upload=upload, caption=request.POST.get("caption", ""))
            except OUT_OF_REACH:
                raise
            except ServiceError as exc:
                error = str(exc.message)
            else:
                messages.success(request, gettext("照片已上传。"))
                return redirect("console:station_photos", station.pk)
    return render(request, "stations/console/station_photos.html", {
        "station": station, "photos": station.photos.all(), "error": error,
        "max_photos": services.MAX_PHOTOS,
    }, status=400 if error else 200)


@require_POST
@console_view
def station_photo_delete(request, station_id: int, photo_id: int):
    station = selectors.station_for_staff(request.user, station_id)
    services.station_remove_photo(user=request.user, station_id=station.pk, photo_id=photo_id)
    messages.success(request, gettext("照片已删除。"))
    return redirect("console:station_photos", station.pk)
