"""Forms of the needs pages. They check shape only; services decide what is allowed."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from nuanxin.needs.models import NeedCategory, NeedSource, NeedStatus, Urgency
from nuanxin.needs.selectors import SEARCH_MAX, SORTS, NeedFilters
from nuanxin.needs.services import COMMENT_MAX, DESCRIPTION_MAX, NOTE_MAX, TITLE_MAX

BLANK = [("", _("全部"))]


class RaiseForm(forms.Form):
    """A worker's 我有困难/需求 form."""

    category = forms.ChoiceField(label=_("遇到了什么困难"), choices=NeedCategory.choices,
                                 widget=forms.RadioSelect,
                                 error_messages={"required": _("请选择一个类别。")})
    title = forms.CharField(label=_("一句话说说"), max_length=TITLE_MAX,
                            error_messages={"required": _("请用一句话说明需求。")},
                            widget=forms.TextInput(attrs={
                                "placeholder": _("例如：小区门口没有充电的地方"),
                                "autocomplete": "off"}))
    description = forms.CharField(label=_("详细说明"), required=False,
                                  max_length=DESCRIPTION_MAX,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    region = forms.CharField(label=_("所在社区"), max_length=12,
                             error_messages={"required": _("请选择所在社区。")})
    lat = forms.FloatField(required=False, min_value=-90, max_value=90,
                           widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180,
                           widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if (data.get("lat") is None) != (data.get("lng") is None):
            data["lat"] = data["lng"] = None
        return data


class RateForm(forms.Form):
    score = forms.TypedChoiceField(label=_("满意度"), coerce=int,
                                   choices=[(i, str(i)) for i in range(1, 6)],
                                   widget=forms.RadioSelect,
                                   error_messages={"required": _("请打 1 到 5 分。")})
    comment = forms.CharField(label=_("说说您的看法"), required=False, max_length=COMMENT_MAX,
                              widget=forms.Textarea(attrs={"rows": 2}))


class FilterForm(forms.Form):
    """The staff list's filters (GET)."""

    status = forms.ChoiceField(label=_("状态"), required=False,
                               choices=BLANK + list(NeedStatus.choices))
    category = forms.ChoiceField(label=_("类别"), required=False,
                                 choices=BLANK + list(NeedCategory.choices))
    source = forms.ChoiceField(label=_("来源"), required=False,
                               choices=BLANK + list(NeedSource.choices))
    region = forms.ChoiceField(label=_("区划"), required=False, choices=BLANK)
    overdue = forms.BooleanField(label=_("只看逾期"), required=False)
    q = forms.CharField(label=_("搜索"), required=False, max_length=SEARCH_MAX)
    sort = forms.ChoiceField(label=_("排序"), required=False, choices=[
        ("urgency", _("紧急优先")), ("created", _("最新提交")), ("oldest", _("最早提交"))])

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        indent = {"district": "", "street": "\u3000", "community": "\u3000\u3000"}
        self.fields["region"].choices = BLANK + [
            (r.code, f"{indent.get(r.level, '')}{r.name}") for r in regions]

    def to_filters(self) -> NeedFilters:
        d = self.cleaned_data
        return NeedFilters(status=d["status"], category=d["category"], source=d["source"],
                           region=d["region"], overdue=d["overdue"], q=d["q"].strip(),
                           sort=d["sort"] if d["sort"] in SORTS else "urgency")


class RecordForm(forms.Form):
    """Staff record a need for a walk-in worker (found by phone) or for nobody."""

    phone = forms.CharField(label=_("骑手手机号"), required=False, max_length=20,
                            help_text=_("留空表示不关联骑手（例如社区自己发现的问题）。"),
                            widget=forms.TextInput(attrs={"inputmode": "tel"}))
    source = forms.ChoiceField(label=_("来源"), initial=NeedSource.WALK_IN,
                               choices=NeedSource.choices)
    region = forms.ChoiceField(label=_("所在社区"))
    category = forms.ChoiceField(label=_("类别"), choices=NeedCategory.choices)
    urgency = forms.TypedChoiceField(label=_("紧急程度"), coerce=int, initial=Urgency.LOW,
                                     choices=Urgency.choices)
    title = forms.CharField(label=_("标题"), max_length=TITLE_MAX)
    description = forms.CharField(label=_("描述"), required=False, max_length=DESCRIPTION_MAX,
                                  widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, r.name if r.level == "community"
                                          else f"{r.name}（{r.get_level_display()}）")
                                         for r in regions]


class EditForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=TITLE_MAX)
    category = forms.ChoiceField(label=_("类别"), choices=NeedCategory.choices)
    urgency = forms.TypedChoiceField(label=_("紧急程度"), coerce=int, choices=Urgency.choices)
    description = forms.CharField(label=_("描述"), required=False, max_length=DESCRIPTION_MAX,
                                  widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(forms.Form):
    text = forms.CharField(max_length=NOTE_MAX, required=False)
