"""Scope by region-code prefix: the same rows as a plain string test, from an index."""

import pytest
from django.db import connection

from nuanxin.geo.models import Region

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("prefix", ["33", "3307", "330782", "330782001", "330782001001", "34",
                                    "", "3307%", "33_7"])
def test_prefix_lookup_matches_python_startswith(prefix):
    expected = sorted(c for c in Region.objects.values_list("code", flat=True)
                      if c.startswith(prefix))
    found = sorted(Region.objects.filter(code__startswith=prefix)
                   .values_list("code", flat=True))
    assert found == expected


def test_foreign_keys_to_regions_use_the_same_prefix_rule():
    from nuanxin.accounts.models import OrgUnit
    from tests.factories.places import CHUITAI, YIJIASHAN, org_unit_for

    org_unit_for(YIJIASHAN)
    org_unit_for(CHUITAI)
    names = list(OrgUnit.objects.filter(region__code__startswith="3307")
                 .values_list("name", flat=True))
    assert names == ["义驾山社区党群服务中心"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the range form is SQLite's")
def test_sqlite_answers_prefix_from_the_index():
    sql, params = Region.objects.filter(code__startswith="3307").query.sql_with_params()
    assert "LIKE" not in sql
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "INDEX" in plan.upper(), plan
