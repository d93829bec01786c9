"""Periodic housekeeping of the device side (Huey). Swap timeouts and the offline sweep
run inside every ingest process (they must react within seconds); these can wait a night."""

from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

# QoS 1 redeliveries come within seconds and a cabinet's offline queue within days: a week
# of message ids is a dedup window wider than either.
DEDUP_WINDOW = timedelta(days=7)
REJECTIONS_KEPT = timedelta(days=90)


@db_periodic_task(crontab(minute="40", hour="3"))
@lock_task("energy-prune-device-messages")
def prune_device_messages() -> int:
    """Drop dedup rows older than the window, in slices (the table is large)."""
    from nuanxin.energy.models import DeviceMessage, IngestRejection

    limit = timezone.now() - DEDUP_WINDOW
    deleted = 0
    while True:
        ids = list(DeviceMessage.objects.filter(received_at__lt=limit)
                   .values_list("id", flat=True)[:10000])
        if not ids:
            break
        deleted += DeviceMessage.objects.filter(id__in=ids).delete()[0]
    IngestRejection.objects.filter(received_at__lt=timezone.now() - REJECTIONS_KEPT).delete()
    return deleted
