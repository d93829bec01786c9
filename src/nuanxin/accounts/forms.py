"""Forms of the account pages: they check shape only; the services decide everything else."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import Occupation

# Platforms offered as ticks on the profile page (brand names, not translated); anything
# else can be typed in. The service keeps at most 10.
COMMON_PLATFORMS = [
    "美团", "饿了么", "顺丰", "京东", "中通", "圆通", "申通", "韵达", "极兔", "邮政EMS",
    "滴滴出行", "高德打车", "曹操出行", "T3出行", "货拉拉", "满帮", "快狗打车", "e代驾",
]

_CODE = re.compile(r"^\d{6}$")


def _numeric(attrs: dict) -> dict:
    return {"inputmode": "numeric", **attrs}


class WorkerLoginForm(forms.Form):
    phone = forms.CharField(
        label=_("手机号"), max_length=20,
        widget=forms.TextInput(attrs=_numeric({
            "type": "tel", "autocomplete": "tel-national", "placeholder": _("11 位手机号"),
            "maxlength": "20", "required": True,
        })),
    )
    code = forms.CharField(
        label=_("验证码"), max_length=10, required=False,
        widget=forms.TextInput(attrs=_numeric({
            "autocomplete": "one-time-code", "pattern": r"\d{6}", "maxlength": "6",
            "placeholder": _("6 位数字"),
        })),
    )
    consent = forms.BooleanField(required=False)
    occupation = forms.ChoiceField(
        label=_("您的职业"), required=False,
        choices=[("", _("请选择"))] + list(Occupation.choices),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)

    def code_error(self) -> str | None:
        code = (self.cleaned_data.get("code") or "").strip()
        if not _CODE.match(code):
            return str(_("请输入短信里的 6 位数字验证码。"))
        return None


class StaffLoginForm(forms.Form):
    username = forms.CharField(
        label=_("用户名"), max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("密码"), max_length=256, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)


class TotpForm(forms.Form):
    code = forms.CharField(
        label=_("动态口令"), max_length=10,
        widget=forms.TextInput(attrs=_numeric({
            "autocomplete": "one-time-code", "pattern": r"\d{6}", "maxlength": "6",
            "placeholder": _("6 位数字"),
        })),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)

    def clean_code(self) -> str:
        code = re.sub(r"\s", "", self.cleaned_data["code"])
        if not _CODE.match(code):
            raise forms.ValidationError(_("请输入身份验证器里的 6 位数字。"))
        return code


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("称呼"), max_length=40, required=False)
    occupation = forms.ChoiceField(label=_("职业"), choices=Occupation.choices)
    platforms = forms.MultipleChoiceField(
        label=_("所在平台"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(p, p) for p in COMMON_PLATFORMS],
    )
    other_platforms = forms.CharField(
        label=_("其他平台"), required=False, max_length=200,
        help_text=_("多个平台用逗号或空格分开。"),
    )

    def platform_list(self) -> list[str]:
        other = re.split(r"[,，、;；\s]+", self.cleaned_data.get("other_platforms") or "")
        return list(self.cleaned_data.get("platforms") or []) + [p for p in other if p]


class HomeRegionForm(forms.Form):
    home_region = forms.CharField(required=False, max_length=12)


class AccountDeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("我知道注销后数据无法恢复"), required=True,
        error_messages={"required": _("请勾选确认后再注销。")},
    )
