"""Forms of the alliance's pages: they check the shape of what was typed; the services
decide what is allowed. A service's refusal lands on the field it is about (ERROR_FIELDS)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import PartnerKind
from nuanxin.alliance.services.partners import PartnerInput
from nuanxin.alliance.services.projects import CANCEL_NEEDS
from nuanxin.alliance.services.resources import ResourceInput
from nuanxin.common.forms import ServiceErrorsMixin
from nuanxin.common.scoping import access_of
from nuanxin.geo.forms import picker_for
from nuanxin.needs.choices import NeedCategory

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PartnerForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("单位名称"), max_length=80)
    kind = forms.ChoiceField(label=_("类型"), choices=PartnerKind.choices)
    region_code = forms.CharField(
        label=_("服务区域（区划代码）"), max_length=12,
        help_text=_("单位主要服务的区划，例如社区 330304001001、区县 330782。"))

    ERROR_FIELDS = {"name_required": "name", "name_too_long": "name",
                    "partner_name_taken": "name", "invalid_kind": "kind",
                    "region_not_found": "region_code"}

    def to_input(self) -> PartnerInput:
        d = self.cleaned_data
        return PartnerInput(name=d["name"], kind=d["kind"], region_code=d["region_code"])


class AgreementForm(ServiceErrorsMixin, forms.Form):
    title = forms.CharField(label=_("协议名称"), max_length=120)
    starts_on = forms.DateField(label=_("开始日期"), widget=DATE)
    ends_on = forms.DateField(label=_("结束日期"), widget=DATE)

    ERROR_FIELDS = {"title_required": "title", "title_too_long": "title",
                    "ends_before_start": "ends_on"}


class MemberForm(ServiceErrorsMixin, forms.Form):
    username = forms.CharField(label=_("登录用户名"), max_length=150)
    display_name = forms.CharField(label=_("称呼"), max_length=40, required=False)
    password = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput,
                               min_length=8, max_length=128,
                               help_text=_("至少 8 位；请线下告知对方，并提醒登录后妥善保管。"))

    ERROR_FIELDS = {"username_required": "username", "username_taken": "username",
                    "weak_password": "password"}


class ResourceForm(ServiceErrorsMixin, forms.Form):
    title = forms.CharField(label=_("资源名称"), max_length=80)
    category = forms.ChoiceField(label=_("类别"), choices=NeedCategory.choices)
    description = forms.CharField(label=_("说明"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    capacity = forms.IntegerField(label=_("容量"), min_value=1, max_value=1_000_000)
    capacity_unit = forms.CharField(label=_("单位"), max_length=20, initial="个名额",
                                    help_text=_("例如：个名额、个电池槽、次/月"))
    conditions = forms.CharField(label=_("条件"), required=False, max_length=1000,
                                 widget=forms.Textarea(attrs={"rows": 2}),
                                 help_text=_("谁可以用、怎么预约、是否收费"))
    region_code = forms.CharField(label=_("所在区划代码"), max_length=12)
    address = forms.CharField(label=_("地址"), required=False, max_length=200)
    lat = forms.FloatField(label=_("纬度（WGS-84）"), required=False, min_value=-90,
                           max_value=90)
    lng = forms.FloatField(label=_("经度（WGS-84）"), required=False, min_value=-180,
                           max_value=180)
    available_from = forms.DateField(label=_("开始提供"), widget=DATE)
    available_until = forms.DateField(label=_("提供至"), required=False, widget=DATE,
                                      help_text=_("留空表示长期提供"))
    is_active = forms.BooleanField(label=_("正在提供"), required=False, initial=True)

    ERROR_FIELDS = {
        "title_required": "title", "title_too_long": "title", "invalid_category": "category",
        "invalid_capacity": "capacity", "capacity_below_allocated": "capacity",
        "unit_required": "capacity_unit", "unit_too_long": "capacity_unit",
        "available_range": "available_until", "available_from_required": "available_from",
        "invalid_coordinates": "lat", "region_outside_partner": "region_code",
        "description_too_long": "description", "conditions_too_long": "conditions",
        "address_too_long": "address",
    }

    @staticmethod
    def initial_for(resource) -> dict:
        return {
            "title": resource.title, "category": resource.category,
            "description": resource.description, "capacity": resource.capacity,
            "capacity_unit": resource.capacity_unit, "conditions": resource.conditions,
            "region_code": resource.region_id, "address": resource.address,
            "lat": resource.lat, "lng": resource.lng,
            "available_from": resource.available_from,
            "available_until": resource.available_until, "is_active": resource.is_active,
        }

    def to_input(self) -> ResourceInput:
        d = self.cleaned_data
        return ResourceInput(
            title=d["title"], category=d["category"], description=d["description"],
            capacity=d["capacity"], capacity_unit=d["capacity_unit"],
            conditions=d["conditions"], region_code=d["region_code"], address=d["address"],
            lat=d["lat"], lng=d["lng"], available_from=d["available_from"],
            available_until=d["available_until"], is_active=d["is_active"],
        )


def yuan_to_fen(value: Decimal | None) -> int:
    return int((value or Decimal(0)) * 100)


class ProjectForm(ServiceErrorsMixin, forms.Form):
    title = forms.CharField(label=_("项目名称"), max_length=80)
    description = forms.CharField(label=_("项目说明"), required=False, max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    owner_region_code = forms.CharField(
        label=_("责任单位（区划代码）"), max_length=12, required=False,
        help_text=_("留空为您所在的党群服务中心。"))
    progress = forms.IntegerField(label=_("进度 %"), min_value=0, max_value=100, initial=0)
    cost_yuan = forms.DecimalField(label=_("投入（元）"), min_value=Decimal(0),
                                   max_value=Decimal(10**10), decimal_places=2,
                                   max_digits=14, initial=0)

    ERROR_FIELDS = {"title_required": "title", "title_too_long": "title",
                    "description_too_long": "description", "invalid_progress": "progress",
                    "invalid_cost": "cost_yuan", "owner_not_found": "owner_region_code",
                    "owner_required": "owner_region_code", "resource_not_found": "resource",
                    "capacity_exceeded": "quantity", "invalid_quantity": "quantity"}

    def __init__(self, *args, user=None, resources=(), **kwargs):
        """With `user`: the owner is picked by name within their scope, and `resources`
        (Resource rows annotated with `remaining`) can be taken at once."""
        super().__init__(*args, **kwargs)
        if user is None:
            return
        owner = self.fields["owner_region_code"]
        self.fields["owner_region_code"] = picker_for(
            access_of(user).prefix, name="owner_region_code", data=self.data,
            initial=self.initial.get("owner_region_code") or "", required=False,
            label=_("责任单位所在区划"), help_text=owner.help_text)
        self.fields["resource"] = forms.TypedChoiceField(
            label=_("同时使用联盟资源（可选）"), required=False, coerce=int, empty_value=None,
            choices=[("", "—")] + [
                (r.pk, f"{r.partner.name}：{r.title}（{_('剩余')} {r.remaining} "
                       f"{r.capacity_unit}）") for r in resources])
        self.fields["quantity"] = forms.IntegerField(label=_("使用数量"), required=False,
                                                     min_value=1)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("resource") and not cleaned.get("quantity"):
            self.add_error("quantity", _("请填写要使用的数量。"))
        return cleaned

    @property
    def cost_fen(self) -> int:
        return yuan_to_fen(self.cleaned_data.get("cost_yuan"))


class ProjectEditForm(ProjectForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["owner_region_code"]


class CloseForm(ServiceErrorsMixin, forms.Form):
    results = forms.CharField(label=_("成效"), max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("做了什么、帮到多少人：会显示在社区的公开页面上。"))
    outcome = forms.CharField(
        label=_("给反映人的答复"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("项目里每条需求都会标为“已解决”，反映人会收到这段话；留空则用“成效”。"))

    ERROR_FIELDS = {"results_required": "results", "results_too_long": "results",
                    "outcome_too_long": "outcome"}


class CancelForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(label=_("取消原因"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))
    needs = forms.ChoiceField(
        label=_("项目里的需求"), initial="detach", widget=forms.RadioSelect,
        choices=[("detach", _("退回需求清单，另想办法（默认）")),
                 ("not_feasible", _("标为“暂无法解决”，并把原因告诉反映人"))])

    ERROR_FIELDS = {"reason_required": "reason", "reason_too_long": "reason",
                    "invalid_needs_choice": "needs"}

    def clean_needs(self):
        value = self.cleaned_data["needs"]
        if value not in CANCEL_NEEDS:
            raise forms.ValidationError(_("请选择需求的去向。"))
        return value


class AllocateForm(ServiceErrorsMixin, forms.Form):
    resource = forms.IntegerField(label=_("资源"), min_value=1)
    quantity = forms.IntegerField(label=_("数量"), min_value=1, max_value=1_000_000)

    ERROR_FIELDS = {"invalid_quantity": "quantity", "capacity_exceeded": "quantity",
                    "resource_not_found": "resource"}


class AddNeedForm(ServiceErrorsMixin, forms.Form):
    need = forms.IntegerField(label=_("需求编号"), min_value=1, max_value=2**63 - 1)

    ERROR_FIELDS = {"need_not_found": "need", "need_outside_owner": "need",
                    "need_already_in_project": "need", "invalid_transition": "need"}


class MilestoneForm(ServiceErrorsMixin, forms.Form):
    title = forms.CharField(label=_("节点"), max_length=80)
    due_on = forms.DateField(label=_("计划日期"), required=False, widget=DATE)

    ERROR_FIELDS = {"title_required": "title", "title_too_long": "title"}


class RouteForm(ServiceErrorsMixin, forms.Form):
    partner = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    resource = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    description = forms.CharField(
        label=_("发给联盟单位的情况说明"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("对方只看到标题、类别、地点和这段说明，看不到反映人。请删去能认出个人的内容。"))
    message = forms.CharField(label=_("给联盟单位的话"), required=False, max_length=1000,
                              widget=forms.Textarea(attrs={"rows": 2}))

    ERROR_FIELDS = {"description_too_long": "description", "message_too_long": "message"}


class AnswerForm(ServiceErrorsMixin, forms.Form):
    action = forms.ChoiceField(
        label=_("答复"), widget=forms.RadioSelect,
        choices=[("accept", _("接单：我们来做")),
                 ("propose", _("提出方案：换个做法或部分能做")),
                 ("decline", _("婉拒：这次做不了"))])
    text = forms.CharField(label=_("方案或原因"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=_("提出方案或婉拒时必填。"))

    ERROR_FIELDS = {"proposal_required": "text", "reason_required": "text",
                    "text_too_long": "text", "invalid_action": "action"}


class PartnerLoginForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput, max_length=128)
    next = forms.CharField(widget=forms.HiddenInput, required=False, max_length=2000)
