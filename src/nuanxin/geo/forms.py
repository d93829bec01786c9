"""A region picker for staff forms: 区县 → 街道 → 社区 as three selects, not a typed code.

Each select lists names within the staff member's scope (a code prefix). It works without
JavaScript: the street and community selects carry every choice in scope, grouped under
their district or street (a large scope leaves communities to be listed once a street is
chosen). `geo/region_picker.js` narrows each select to the choice above it and fetches a
street's communities when they were not sent. The value is the deepest level chosen.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from nuanxin.common.scoping import covers
from nuanxin.geo.models import Region, RegionLevel

# Above this many communities in scope the page would be too heavy: they are listed for
# the chosen street only (by the script, or after the form comes back with an error).
COMMUNITY_LIMIT = 1500
LEVELS = (("district", 6, _("区县")), ("street", 9, _("街道/乡镇")),
          ("community", 12, _("社区/村")))


def _grouped(regions, parents: dict[str, str], length: int) -> list:
    groups: dict[str, list] = {}
    for region in regions:
        groups.setdefault(region.code[:length], []).append((region.code, region.name))
    return [(parents.get(code, code), choices) for code, choices in groups.items()]


class RegionPickerWidget(forms.MultiWidget):
    template_name = "geo/region_picker.html"

    class Media:
        js = ["geo/region_picker.js"]

    def __init__(self, attrs=None):
        widgets = [forms.Select(attrs={"data-level": key, "aria-label": label})
                   for key, _length, label in LEVELS]
        super().__init__(widgets, attrs)

    def value_from_datadict(self, data, files, name):
        # A whole code posted under the field's own name (a script, an older page) is
        # taken as if picked level by level.
        if data.get(name) and not any(data.get(f"{name}_{i}") for i in range(3)):
            return self.decompress(str(data.get(name)).strip())
        return super().value_from_datadict(data, files, name)

    def decompress(self, value):
        value = value or ""
        return [value[:length] if len(value) >= length else "" for _k, length, _l in LEVELS]


def picker_for(user_prefix: str | None, *, name: str, data, initial: str = "",
               **kwargs) -> RegionPickerField:
    """A picker for a staff member with scope `user_prefix` (None: no scope, nothing to
    pick) on a form whose field is `name`, showing what was posted if anything."""
    posted = (data.get(f"{name}_2") or data.get(f"{name}_1") or data.get(name)) if data else ""
    return RegionPickerField(prefix="none" if user_prefix is None else user_prefix,
                             selected=posted or initial, initial=initial or None, **kwargs)


class RegionPickerField(forms.MultiValueField):
    """A region code inside `prefix` (the staff member's scope), picked by name."""

    widget = RegionPickerWidget

    def __init__(self, *, prefix: str, selected: str = "", **kwargs):
        self.prefix = prefix
        fields = [forms.CharField(required=False, max_length=length)
                  for _key, length, _label in LEVELS]
        super().__init__(fields, require_all_fields=False, **kwargs)
        self.set_choices(selected or str(kwargs.get("initial") or ""))

    def set_choices(self, selected: str = "") -> None:
        """Fill the selects; `selected` (a code) makes sure its street's communities are
        there even when the scope is too large to list them all."""
        prefix = self.prefix
        near = Region.objects.only("code", "name").order_by("code")
        # Levels above the scope show the one district or street the scope lies in.
        districts = list(near.in_region(prefix[:6]).filter(level=RegionLevel.DISTRICT))
        streets = list(near.in_region(prefix[:9]).filter(level=RegionLevel.STREET))
        communities = near.in_region(prefix).filter(level=RegionLevel.COMMUNITY)
        if communities.count() > COMMUNITY_LIMIT:
            street = selected[:9] if len(selected) >= 9 else "-"
            communities = communities.in_region(street)
        district_names = {r.code: r.name for r in districts}
        street_names = {r.code: r.name for r in streets}
        empty = [("", "—")]
        district_select, street_select, community_select = self.widget.widgets
        district_select.choices = empty + [(r.code, r.name) for r in districts]
        street_select.choices = empty + _grouped(streets, district_names, 6)
        community_select.choices = empty + _grouped(communities, street_names, 9)

    def compress(self, data_list):
        district, street, community = (list(data_list) + ["", "", ""])[:3]
        if (street and not street.startswith(district or street[:6])) or (
                community and not community.startswith(street or community[:9])):
            raise forms.ValidationError(_("所选的街道或社区不在上一级里，请重新选择。"))
        code = community or street or district
        if not code:
            return ""
        if not covers(self.prefix, code) or not Region.objects.filter(code=code).exists():
            raise forms.ValidationError(_("没有这个行政区划，或它不在您的管辖范围内。"))
        return code
