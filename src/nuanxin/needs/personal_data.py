"""A worker's part of the needs list, for their personal-data export: the needs they raised
or follow (with what they wrote) and their ratings."""

from __future__ import annotations

from nuanxin.needs.models import Need, NeedFeedback, NeedFollower, NeedRaiser


def _dt(value):
    return value.isoformat() if value else None


def export_needs(user) -> dict:
    raised = {r.need_id: r for r in NeedRaiser.objects.filter(worker=user)}
    followed = set(NeedFollower.objects.filter(user=user).values_list("need_id", flat=True))
    needs = (Need.objects.filter(pk__in=set(raised) | followed)
             .select_related("region").order_by("created_at", "pk"))
    return {
        "needs": [{
            "id": n.pk, "title": n.title, "description": n.description,
            "category": n.category, "status": n.status, "region": n.region.name,
            "raised_by_me": n.pk in raised,
            "raised_at": _dt(raised[n.pk].raised_at) if n.pk in raised else None,
            "source": raised[n.pk].source if n.pk in raised else None,
            "following": n.pk in followed, "outcome": n.outcome,
        } for n in needs],
        "ratings": [{"need_id": f.need_id, "score": f.score, "comment": f.comment,
                     "at": _dt(f.at)}
                    for f in NeedFeedback.objects.filter(worker=user).order_by("at", "pk")],
    }
