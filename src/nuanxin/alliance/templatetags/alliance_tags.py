"""Template helpers of the alliance's pages: money in fen shown as yuan."""

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.filter
def yuan(fen) -> str:
    """12345678 → '¥123,456.78'; whole yuan without the cents ('¥8,000')."""
    try:
        fen = int(fen)
    except (TypeError, ValueError):
        return ""
    whole, cents = divmod(abs(fen), 100)
    sign = "-" if fen < 0 else ""
    text = f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"
    return f"{sign}¥{text}"


@register.filter
def fen_to_yuan_input(fen) -> str:
    """For a form's initial value: 123456 → '1234.56'."""
    try:
        fen = int(fen)
    except (TypeError, ValueError):
        return "0"
    return f"{fen // 100}.{fen % 100:02d}"


ACTION_LABELS = {
    "alliance.routing.routed": _("派单"),
    "alliance.routing.accepted": _("对方接单"),
    "alliance.routing.proposed": _("对方提出方案"),
    "alliance.routing.declined": _("对方婉拒"),
    "alliance.project.created": _("新建项目"),
    "alliance.project.updated": _("修改项目"),
    "alliance.project.started": _("项目启动"),
    "alliance.project.closed": _("项目完成"),
    "alliance.project.cancelled": _("项目取消"),
    "alliance.project.need_added": _("纳入需求"),
    "alliance.project.need_removed": _("移出需求"),
    "alliance.project.needs_resolved": _("需求办结"),
    "alliance.project.resource_added": _("加入资源"),
    "alliance.project.resource_changed": _("调整资源数量"),
    "alliance.project.resource_removed": _("移除资源"),
    "alliance.project.milestone_added": _("添加节点"),
    "alliance.project.milestone_done": _("节点完成"),
    "alliance.project.milestone_reopened": _("节点改为未完成"),
}


@register.filter
def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code
