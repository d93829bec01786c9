from django import forms
from django.utils.translation import gettext_lazy as _

from nuanxin.common.forms import ServiceErrorsMixin
from nuanxin.voice.models import StoryKind, StoryStatus


class StoryForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label=_("想说的是"), choices=StoryKind.choices,
                             initial=StoryKind.STORY, widget=forms.RadioSelect)
    text = forms.CharField(label=_("内容"), min_length=5, max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 6, "maxlength": 1000}))
    consent_publish = forms.BooleanField(
        label=_("同意社区把这段话公开在社区页面上"), required=False,
        help_text=_("不勾选：只有社区工作人员能看到。"))
    show_name = forms.BooleanField(label=_("公开时署上我的称呼"), required=False,
                                   help_text=_("不勾选：公开时显示为“一位骑手”等，不显示称呼。"))
    display_name = forms.CharField(label=_("称呼"), max_length=40, required=False)

    ERROR_FIELDS = {"text_too_short": "text", "text_too_long": "text", "invalid_kind": "kind",
                    "name_required": "display_name", "name_too_long": "display_name"}


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(required=False,
                               choices=[("", _("全部"))] + list(StoryStatus.choices))
