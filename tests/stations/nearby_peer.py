"""A second process for the nearby tests: it edits stations through the services and
answers nearby searches from its own in-memory index, one JSON command per line on stdin,
one JSON answer per line on stdout.

    python -m tests.stations.nearby_peer      # DATABASE_URL names the test database
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nuanxin.settings")
    import django

    django.setup()


def _data(station, **changes):
    from nuanxin.stations.amenities import codes_for
    from nuanxin.stations.services import StationData

    values = {"name": station.name, "type": station.type, "region_code": station.region_id,
              "lat": station.lat, "lng": station.lng, "address": station.address,
              "amenities": tuple(codes_for(station.amenity_bits)),
              "is_active": station.is_active}
    values.update(changes)
    return StationData(**values)


def edit(user, campaign_id: int | None, change: list) -> None:
    """One change, as a station keeper or an import would make it."""
    from django.db import transaction

    from nuanxin.stations import services
    from nuanxin.stations.models import Station

    kind, *args = change
    if kind == "create":
        lat, lng, codes = args
        services.station_create(user=user, data=_data(
            Station(name="新驿站", type="post", region_id="330782001001", lat=lat, lng=lng,
                    is_active=True), amenities=tuple(codes)))
        return
    if kind == "bulk":  # an import's worth of changes: one log row for all of them
        ids, bits = args
        with transaction.atomic():
            Station.objects.filter(pk__in=ids).update(amenity_bits=bits)
            services.bump_index_version(None)
        return
    if kind == "bulk_listed":  # a campaign's worth: one log row listing the stations
        ids, bits = args
        with transaction.atomic():
            Station.objects.filter(pk__in=ids).update(amenity_bits=bits)
            many, services.BULK_CHANGE = services.BULK_CHANGE, 0
            try:
                services.bump_index_version(ids)
            finally:
                services.BULK_CHANGE = many
        return
    if kind.startswith("campaign_") and kind not in ("campaign_add", "campaign_remove"):
        campaign(user, kind, args)
        return
    sid = args[0]
    station = Station.objects.filter(pk=sid).first()
    if station is None:
        return
    if kind == "move":
        services.station_update(user=user, station_id=sid,
                                data=_data(station, lat=args[1], lng=args[2]))
    elif kind == "amenities":
        services.station_update(user=user, station_id=sid,
                                data=_data(station, amenities=tuple(args[1])))
    elif kind == "rename":
        services.station_update(user=user, station_id=sid, data=_data(station, name=args[1]))
    elif kind == "active":
        services.station_update(user=user, station_id=sid,
                                data=_data(station, is_active=args[1]))
    elif kind == "hours":
        services.station_set_hours(user=user, station_id=sid, spans=[tuple(s) for s in args[1]])
    elif kind == "exception":
        day = date.fromisoformat(args[2])
        if args[1] == "closed":
            services.station_add_exception(user=user, station_id=sid, day=day, closed=True)
        elif not station.exceptions.filter(date=day).exists():
            services.station_add_exception(user=user, station_id=sid, day=day, closed=False,
                                           opens=args[1][0], closes=args[1][1])
    elif kind == "campaign_add":
        services.campaign_add_stations(user=user, campaign_id=campaign_id, station_ids=[sid])
    elif kind == "campaign_remove":
        if station.campaigns.filter(pk=campaign_id).exists():
            services.campaign_remove_station(user=user, campaign_id=campaign_id,
                                             station_id=sid)
    elif kind == "delete":  # gone from the table, as a cleanup script would do it
        with transaction.atomic():
            station.delete()
            services.bump_index_version([sid])
    else:
        raise ValueError(kind)


def campaign(user, kind: str, args: list) -> None:
    """A campaign written as the console would: created over some stations, switched to
    others, its dates or hours edited, deleted. `which` picks among the campaigns there
    are now (by position, by id), so a random sequence needs no ids in advance."""
    from nuanxin.stations import services
    from nuanxin.stations.models import HolidayCampaign, Station

    def existing(ids):  # a random sequence may have deleted some
        return list(Station.objects.filter(pk__in=ids).values_list("pk", flat=True))

    if kind == "campaign_create":
        name, starts_on, ends_on, opens, closes, ids = args
        ids = existing(ids)
        services.campaign_create(user=user, name=name, region_code="330782",
                                 starts_on=date.fromisoformat(starts_on),
                                 ends_on=date.fromisoformat(ends_on), opens=opens,
                                 closes=closes, station_ids=ids)
        return
    which, *rest = args
    ids = sorted(HolidayCampaign.objects.values_list("pk", flat=True))
    if not ids:
        return
    pk = ids[which % len(ids)]
    if kind == "campaign_set":
        services.campaign_set_stations(user=user, campaign_id=pk,
                                       station_ids=existing(rest[0]))
    elif kind == "campaign_update":
        starts_on, ends_on, opens, closes = rest
        services.campaign_update(user=user, campaign_id=pk,
                                 name=HolidayCampaign.objects.get(pk=pk).name,
                                 starts_on=date.fromisoformat(starts_on),
                                 ends_on=date.fromisoformat(ends_on), opens=opens,
                                 closes=closes)
    elif kind == "campaign_delete":
        services.campaign_delete(user=user, campaign_id=pk)
    else:
        raise ValueError(kind)


def query(command: dict) -> list:
    from nuanxin.stations.nearby.search import stations_nearby

    hits = stations_nearby(
        lat=command["lat"], lng=command["lng"], limit=command["limit"],
        radius_m=command["radius_m"], required_bits=command.get("required_bits", 0),
        open_now=command.get("open_now", False), now=datetime.fromisoformat(command["now"]))
    return [[h.station.id, h.distance_m, h.station.name, h.status.open_now,
             h.status.next_change.isoformat() if h.status.next_change else None]
            for h in hits]


def main() -> None:
    _setup()
    from django.db import connection

    from nuanxin.accounts.models import User

    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "edit":
            user = User.objects.get(pk=command["user"])
            for change in command["changes"]:
                edit(user, command.get("campaign"), change)
            answer: object = "ok"
        elif command["op"] == "query":
            answer = query(command)
        else:
            raise ValueError(command["op"])
        connection.close()  # as the server does between requests
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
