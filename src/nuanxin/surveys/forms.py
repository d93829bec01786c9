"""Console forms: they parse and present; the rules live in the services."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import Occupation
from nuanxin.common.forms import ServiceErrorsMixin
from nuanxin.common.scoping import access_of
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.needs.services import NeedCategory, Urgency
from nuanxin.surveys.access import require_manager
from nuanxin.surveys.models import CHOICE_KINDS, QuestionKind
from nuanxin.surveys.services import (
    FollowUpInput,
    OptionInput,
    QuestionInput,
    SurveyInput,
    VisitInput,
)

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
REGION_CHOICE_LIMIT = 800


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def region_choices(user, *, communities_only: bool = False) -> list[tuple[str, str]]:
    """Regions inside the user's scope for a select: everything when that is a short list,
    otherwise the levels down to the street (a province admin has ~20,000 communities)."""
    require_manager(user)
    prefix = access_of(user).prefix
    qs = Region.objects.visible_to(user).order_by("code")
    if communities_only:
        qs = qs.filter(level=RegionLevel.COMMUNITY)
    elif qs.count() > REGION_CHOICE_LIMIT:
        qs = qs.exclude(level=RegionLevel.COMMUNITY)
        if qs.count() > REGION_CHOICE_LIMIT:
            qs = qs.exclude(level=RegionLevel.STREET)
    indent = {"province": 0, "city": 1, "district": 2, "street": 3, "community": 4}
    return [(r.code, "\u3000" * max(indent[r.level] - indent.get(_top_level(prefix), 0), 0)
             + r.name) for r in qs.only("code", "name", "level")[:REGION_CHOICE_LIMIT]]


def _top_level(prefix: str) -> str:
    return {0: "province", 2: "province", 4: "city", 6: "district", 9: "street",
            12: "community"}.get(len(prefix), "province")


class BaseForm(forms.Form):
    """Chinese labels end in their own punctuation (“社区要办什么事？”): no colon after."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SurveyForm(ServiceErrorsMixin, BaseForm):
    ERROR_FIELDS = {"title_required": "title", "title_too_long": "title",
                    "intro_too_long": "intro", "region_not_found": "region",
                    "invalid_window": "closes_at", "unknown_occupation": "occupations"}

    title = forms.CharField(label=_("标题"), max_length=80)
    intro = forms.CharField(label=_("说明"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("告诉大家为什么做这次调查、结果怎么用。"))
    region = forms.ChoiceField(label=_("面向区域"),
                               help_text=_("常住社区在这个区域里的骑手、快递员和司机可以作答。"))
    occupations = forms.MultipleChoiceField(
        label=_("面向职业"), required=False, choices=Occupation.choices,
        widget=forms.CheckboxSelectMultiple, help_text=_("不选表示所有职业。"))
    anonymous = forms.BooleanField(
        label=_("匿名问卷"), required=False,
        help_text=_("匿名：答卷不保存答题人、不保存具体时间，任何人都无法把答案和人对应起来；"
                    "答题人也就不能被列为需求的反映人。发布后不能更改。"))
    opens_at = forms.DateTimeField(label=_("开始时间"), input_formats=DATETIME_FORMATS,
                                   widget=DateTimeLocal())
    closes_at = forms.DateTimeField(label=_("截止时间"), input_formats=DATETIME_FORMATS,
                                    widget=DateTimeLocal())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = region_choices(user)

    @classmethod
    def initial_for(cls, survey=None, user=None) -> dict:
        if survey is None:
            now = timezone.localtime().replace(second=0, microsecond=0)
            region = getattr(getattr(user, "staff_profile", None), "org_unit", None)
            return {"opens_at": now, "closes_at": now + timedelta(days=14),
                    "region": region.region_id if region else ""}
        return {"title": survey.title, "intro": survey.intro, "region": survey.region_id,
                "occupations": survey.occupations, "anonymous": survey.anonymous,
                "opens_at": timezone.localtime(survey.opens_at),
                "closes_at": timezone.localtime(survey.closes_at)}

    def to_data(self) -> SurveyInput:
        d = self.cleaned_data
        return SurveyInput(title=d["title"], intro=d["intro"], region_code=d["region"],
                           occupations=list(d["occupations"]), anonymous=d["anonymous"],
                           opens_at=d["opens_at"], closes_at=d["closes_at"])


CATEGORY_CHOICES = [("", _("（不对应）")), *NeedCategory.choices]
MIN_OPTION_ROWS = 6


class QuestionForm(ServiceErrorsMixin, BaseForm):
    """One question. Options are rows option_<i>_label / _category / _id; the display
    condition is a set of options of one earlier choice question."""

    ERROR_FIELDS = {"question_text_required": "text", "question_text_too_long": "text",
                    "help_text_too_long": "help_text", "invalid_scale": "scale_max",
                    "scale_label_too_long": "scale_max", "invalid_condition": "show_if_options",
                    "need_category_required": "maps_to_need"}

    kind = forms.ChoiceField(label=_("题型"), choices=QuestionKind.choices)
    text = forms.CharField(label=_("题目"), max_length=200)
    help_text = forms.CharField(label=_("提示（可不填）"), max_length=200, required=False)
    required = forms.BooleanField(label=_("必答"), required=False, initial=True)
    allow_other = forms.BooleanField(label=_("加一个“其他（请填写）”选项"), required=False)
    maps_to_need = forms.BooleanField(
        label=_("选项对应需求类别"), required=False,
        help_text=_("例如“跑单途中最大的困难是什么？”：结果页上可以把选项一键列入需求清单。"))
    scale_max = forms.TypedChoiceField(label=_("打分范围"), coerce=int, required=False,
                                       choices=[(n, f"1–{n}") for n in range(2, 11)],
                                       initial=5)
    scale_low_label = forms.CharField(label=_("1 分表示"), max_length=20, required=False)
    scale_high_label = forms.CharField(label=_("最高分表示"), max_length=20, required=False)
    show_if_options = forms.TypedMultipleChoiceField(
        label=_("显示条件"), required=False, coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("只有前面那道题选了这些选项之一时才显示本题；不选表示总是显示。"))

    def __init__(self, *args, earlier=(), option_rows: int = MIN_OPTION_ROWS, **kwargs):
        super().__init__(*args, **kwargs)
        groups = []
        for q in earlier:
            if q.kind in CHOICE_KINDS:
                groups.append((f"{q.position}. {q.text[:30]}",
                               [(o.pk, f"{q.position}. {o.label}") for o in q.options.all()]))
        self.fields["show_if_options"].choices = groups
        self.option_of = {o.pk: q.pk for q in earlier for o in q.options.all()}
        self.option_rows = option_rows
        for i in range(option_rows):
            self.fields[f"option_{i}_label"] = forms.CharField(
                label=_("选项 %(n)d") % {"n": i + 1}, max_length=100, required=False)
            self.fields[f"option_{i}_category"] = forms.ChoiceField(
                label=_("需求类别"), choices=CATEGORY_CHOICES, required=False)
            self.fields[f"option_{i}_id"] = forms.IntegerField(required=False,
                                                               widget=forms.HiddenInput)

    def option_fields(self):
        return [(self[f"option_{i}_label"], self[f"option_{i}_category"],
                 self[f"option_{i}_id"]) for i in range(self.option_rows)]

    @classmethod
    def initial_for(cls, question) -> dict:
        initial = {"kind": question.kind, "text": question.text,
                   "help_text": question.help_text, "required": question.required,
                   "allow_other": question.allow_other, "maps_to_need": question.maps_to_need,
                   "scale_max": question.scale_max or 5,
                   "scale_low_label": question.scale_low_label,
                   "scale_high_label": question.scale_high_label,
                   "show_if_options": [o.pk for o in question.show_if_options.all()]}
        for i, o in enumerate(question.options.all()):
            initial[f"option_{i}_label"] = o.label
            initial[f"option_{i}_category"] = o.need_category
            initial[f"option_{i}_id"] = o.pk
        return initial

    def clean(self):
        data = super().clean()
        chosen = data.get("show_if_options") or []
        sources = {self.option_of.get(o) for o in chosen}
        if len(sources) > 1:
            self.add_error("show_if_options", _("显示条件只能引用同一道题的选项。"))
        data["show_if_question"] = sources.pop() if len(sources) == 1 else None
        return data

    def to_data(self) -> QuestionInput:
        d = self.cleaned_data
        options = []
        for i in range(self.option_rows):
            label = (d.get(f"option_{i}_label") or "").strip()
            option_id = d.get(f"option_{i}_id")
            if label or option_id:
                options.append(OptionInput(label=label,
                                           need_category=d.get(f"option_{i}_category") or "",
                                           id=option_id))
        return QuestionInput(
            kind=d["kind"], text=d["text"], help_text=d["help_text"], required=d["required"],
            allow_other=d["allow_other"], maps_to_need=d["maps_to_need"],
            scale_max=d.get("scale_max") if d["kind"] == QuestionKind.RATING else None,
            scale_low_label=d.get("scale_low_label", ""),
            scale_high_label=d.get("scale_high_label", ""),
            options=options, show_if_question_id=d.get("show_if_question"),
            show_if_option_ids=list(d.get("show_if_options") or []),
        )


class ReopenForm(BaseForm):
    closes_at = forms.DateTimeField(label=_("新的截止时间"), input_formats=DATETIME_FORMATS,
                                    widget=DateTimeLocal())


class CrossTabForm(BaseForm):
    row = forms.TypedChoiceField(label=_("行"), coerce=int)
    col = forms.TypedChoiceField(label=_("列"), coerce=int)

    def __init__(self, *args, questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(q.pk, f"{q.position}. {q.text[:40]}") for q in questions
                   if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE,
                                 QuestionKind.RATING)]
        self.fields["row"].choices = choices
        self.fields["col"].choices = choices


# --- home visits ---------------------------------------------------------------------------

class VisitForm(ServiceErrorsMixin, BaseForm):
    ERROR_FIELDS = {"worker_not_found": "worker_phone", "invalid_phone": "worker_phone",
                    "visit_target_ambiguous": "household_name",
                    "visit_target_required": "worker_phone",
                    "household_name_too_long": "household_name",
                    "region_not_found": "region", "address_too_long": "household_address",
                    "visited_at_required": "visited_at", "visited_at_in_future": "visited_at",
                    "visited_at_too_old": "visited_at", "follow_up_note_required":
                    "follow_up_note", "follow_up_note_too_long": "follow_up_note",
                    "follow_up_due_required": "follow_up_due"}

    worker_phone = forms.CharField(label=_("骑手手机号"), required=False, max_length=20,
                                   help_text=_("在您辖区登记过的骑手、快递员、司机。"))
    household_name = forms.CharField(label=_("或：住户称呼"), required=False, max_length=40,
                                     help_text=_("没有账号的住户，例如“王师傅家”。"))
    household_address = forms.CharField(label=_("住址"), required=False, max_length=120)
    region = forms.ChoiceField(label=_("所在社区"), required=False,
                               help_text=_("登记住户时必选；骑手按其常住社区。"))
    visited_at = forms.DateTimeField(label=_("走访时间"), input_formats=DATETIME_FORMATS,
                                     widget=DateTimeLocal())
    place = forms.CharField(label=_("走访地点"), required=False, max_length=120)
    difficulty_text = forms.CharField(label=_("一问：家里有什么困难事？"), required=False,
                                      max_length=2000,
                                      widget=forms.Textarea(attrs={"rows": 3}))
    difficulty_categories = forms.MultipleChoiceField(
        label=_("类别"), required=False, choices=NeedCategory.choices,
        widget=forms.CheckboxSelectMultiple)
    community_text = forms.CharField(label=_("二问：社区要办什么事？"), required=False,
                                     max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    community_categories = forms.MultipleChoiceField(
        label=_("类别"), required=False, choices=NeedCategory.choices,
        widget=forms.CheckboxSelectMultiple)
    follow_up_note = forms.CharField(label=_("跟进事项（可不填）"), required=False,
                                     max_length=200)
    follow_up_due = forms.DateField(label=_("跟进期限"), required=False, widget=DateInput())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "—"), *region_choices(user,
                                                                    communities_only=True)]

    def clean(self):
        data = super().clean()
        if data.get("follow_up_note") and not data.get("follow_up_due"):
            self.add_error("follow_up_due", _("请填写跟进期限。"))
        return data

    def to_data(self) -> VisitInput:
        d = self.cleaned_data
        follow_ups = ([FollowUpInput(d["follow_up_note"], d["follow_up_due"])]
                      if d.get("follow_up_note") else [])
        return VisitInput(
            visited_at=d["visited_at"], worker_phone=d["worker_phone"],
            household_name=d["household_name"], household_address=d["household_address"],
            region_code=d["region"], place=d["place"],
            difficulty_text=d["difficulty_text"],
            difficulty_categories=list(d["difficulty_categories"]),
            community_text=d["community_text"],
            community_categories=list(d["community_categories"]), follow_ups=follow_ups)


class ToNeedForm(BaseForm):
    title = forms.CharField(label=_("需求标题"), max_length=80)
    category = forms.ChoiceField(label=_("类别"), choices=NeedCategory.choices)
    urgency = forms.TypedChoiceField(label=_("紧急程度"), choices=Urgency.choices, coerce=int,
                                     initial=Urgency.LOW)


class FollowUpForm(BaseForm):
    note = forms.CharField(label=_("跟进事项"), max_length=200)
    due_on = forms.DateField(label=_("期限"), widget=DateInput())


class PlanForm(BaseForm):
    worker_phone = forms.CharField(label=_("骑手手机号"), max_length=20)
    planned_on = forms.DateField(label=_("日期"), widget=DateInput())
