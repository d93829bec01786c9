"""Page-number pagination shared by every list endpoint."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import ServiceError

MAX_PAGE_SIZE = 100


def paginate(queryset: QuerySet, *, page: int, page_size: int) -> dict[str, Any]:
    if page < 1:
        raise ServiceError("invalid_page", _("页码必须从 1 开始。"))
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
