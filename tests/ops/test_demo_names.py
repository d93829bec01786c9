"""Demo stations carry natural names, as people call them, never serial numbers (issue 8
item 14: "桂花社区暖新驿站1861")."""

import random
import re

import pytest

from nuanxin.geo.models import Region
from nuanxin.ops import demo

pytestmark = pytest.mark.django_db


def _communities(n):
    return list(Region.objects.filter(level="community").select_related("parent__parent")
                .order_by("code")[:n])


def test_generated_station_names_are_unique_and_have_no_digits():
    communities = _communities(3)  # ~100 stations each: landmarks run out, pairs take over
    taken = {"义驾山社区党群服务中心"}
    names = [s.name for s, _ in demo._station_rows(communities, 300, random.Random(7),
                                                   taken=set(taken))]
    assert len(set(names)) == len(names) == 300
    assert not taken & set(names)
    assert [n for n in names if re.search(r"\d", n)] == []
    assert all(any(n.startswith(c.name) for c in communities) for n in names)
    # The first of a kind in a community has the plain name.
    first = communities[0].name
    assert {f"{first}暖新驿站", f"{first}新就业群体服务站"} <= set(names)


def test_station_names_are_deterministic_for_a_seed():
    communities = _communities(20)

    def generate(seed):
        return [(s.name, s.lat, s.lng) for s, _ in demo._station_rows(communities, 200,
                                                                      random.Random(seed))]

    assert generate(11) == generate(11)
