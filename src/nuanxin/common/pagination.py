"""Page-number pagination shared by every list endpoint."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import ServiceError

MAX_PAGE_SIZE = 100
# No list is this long; a larger number would overflow the database's OFFSET.
MAX_PAGE = 100_000


def paginate(queryset: QuerySet, *, page: int, page_size: int) -> dict[str, Any]:
    if not 1 <= page <= MAX_PAGE:
        raise ServiceError("invalid_page", _("页码必须在 1 到 100000 之间。"))
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ServiceError("invalid_page_size", _("每页条数必须在 1 到 100 之间。"))
    total = queryset.count()
    start = (page - 1) * page_size
    return {
        "count": total,
        "page": page,
        "page_size": page_size,
        "results": list(queryset[start : start + page_size]),
    }
