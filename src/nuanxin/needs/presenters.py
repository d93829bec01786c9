"""How needs and their history read on a page, for workers and for staff."""

from __future__ import annotations

from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from nuanxin.needs.models import NeedCategory, NeedStatus, Urgency
from nuanxin.needs.services import NEED_WORKFLOW

# One line under each category button: what riders mean by it.
CATEGORY_HINTS = {
    NeedCategory.CHARGING: _("电动车充电、换电、手机充电"),
    NeedCategory.REST_SPACE: _("歇脚、喝水、热饭、如厕"),
    NeedCategory.CHILDCARE: _("孩子放学后没人照看"),
    NeedCategory.SKILLS: _("学技能、考证、转行"),
    NeedCategory.LEGAL: _("欠薪、合同、事故纠纷"),
    NeedCategory.HEALTH: _("看病、体检、心理疏导"),
    NeedCategory.HOUSING: _("租房、住宿"),
    NeedCategory.TRAFFIC_PARKING: _("停车、进小区、道路"),
    NeedCategory.PLATFORM_RULES: _("派单、罚款、申诉"),
    NeedCategory.OTHER: _("其他困难"),
}

# CSS class of each status chip.
STATUS_TONE = {
    NeedStatus.SUBMITTED: "s-new",
    NeedStatus.ACCEPTED: "s-doing",
    NeedStatus.IN_PROJECT: "s-doing",
    NeedStatus.RESOLVED: "s-done",
    NeedStatus.DECLINED: "s-closed",
    NeedStatus.NOT_FEASIBLE: "s-closed",
    NeedStatus.MERGED: "s-closed",
}


FIELD_LABELS = {"title": _("标题"), "category": _("类别"), "urgency": _("紧急程度")}


def status_label(code: str) -> str:
    return str(NeedStatus(code).label) if code in NeedStatus.values else code


def _value_label(field: str, value) -> str:
    if field == "category" and value in NeedCategory.values:
        return str(NeedCategory(value).label)
    if field == "urgency" and value in Urgency.values:
        return str(Urgency(value).label)
    return str(value)


def _details(event, *, for_staff: bool) -> str:
    data = event.data or {}
    action = event.action
    if action == "needs.need.updated":
        parts = [
            gettext("%(field)s：%(old)s → %(new)s") % {
                "field": FIELD_LABELS.get(field, field),
                "old": _value_label(field, old), "new": _value_label(field, new)}
            for field, (old, new) in (data.get("changes") or {}).items()
        ]
        if data.get("description_changed"):
            parts.append(gettext("描述已修改"))
        return "；".join(parts)
    if action == "needs.need.merged" and data.get("target"):
        return gettext("并入需求 #%(id)s") % {"id": data["target"]}
    if action == "needs.need.absorbed" and for_staff and data.get("source"):
        return gettext("需求 #%(id)s “%(title)s”") % {"id": data["source"],
                                                 "title": data.get("source_title", "")}
    if action == "needs.need.escalated" and data.get("to_unit"):
        return gettext("转由%(unit)s督办") % {"unit": data["to_unit"]}
    if action in ("needs.need.attached_to_project", "needs.need.detached_from_project") \
            and for_staff and data.get("project_ref"):
        return gettext("项目 %(ref)s") % {"ref": data["project_ref"]}
    return ""


def event_rows(events, *, viewer=None, for_staff: bool) -> list[dict]:
    """History rows. Staff see who acted; workers see the unit that acted, never a staff
    member's name, and "you" for their own acts (other workers stay anonymous)."""
    rows = []
    for event in events:
        if event.actor_unit_id:
            who = str(event.actor_unit)
            if for_staff and event.actor is not None:
                who = f"{event.actor} · {who}"
        elif event.actor is None:
            who = gettext("系统")
        elif viewer is not None and event.actor_id == viewer.pk:
            who = gettext("您")
        elif event.actor.kind != "worker":
            who = str(event.actor) if for_staff else gettext("工作人员")
        elif for_staff and event.action != "needs.need.raised_again":
            who = gettext("骑手") + f" {event.actor}"
        else:  # other riders stay anonymous; runs of "me too" read as one line
            who = gettext("骑手")
        rows.append({
            "at": event.at,
            "action": event.action,
            "who": who,
            "text": NEED_WORKFLOW.label(event.action),
            "details": _details(event, for_staff=for_staff),
            "note": event.reason,
            "to_status": event.to_state,
            "merged_into": (event.data or {}).get("target") if event.action == "needs.need.merged"
            else None,
            "count": 1,
        })
    return _collapse(rows)


# Acts that come in runs ("me too" from many riders, several duplicates merged at once):
# one history line per run, with the number.
RUN_TEXT = {
    "needs.need.raised_again": lambda n: ngettext(
        "又有 %(n)d 位骑手反映了同样的问题", "又有 %(n)d 位骑手反映了同样的问题", n) % {"n": n},
    "needs.need.absorbed": lambda n: ngettext(
        "合并了 %(n)d 条相同的需求", "合并了 %(n)d 条相同的需求", n) % {"n": n},
}


def _collapse(rows: list[dict]) -> list[dict]:
    out: list[dict] = []
    for row in rows:
        last = out[-1] if out else None
        if (last is not None and row["action"] in RUN_TEXT and last["action"] == row["action"]
                and last["who"] == row["who"] and not row["note"]):
            last["count"] += 1
            last["text"] = RUN_TEXT[row["action"]](last["count"])
            if row["details"]:
                last["details"] = "；".join(filter(None, [last["details"], row["details"]]))
            continue
        out.append(row)
    return out
