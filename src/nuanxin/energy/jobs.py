"""Periodic housekeeping of the device side (Huey). Swap timeouts and the offline sweep
run inside every ingest process (they must react within seconds); these can wait a night."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task


@db_periodic_task(crontab(minute="40", hour="3"))
@lock_task("energy-prune-device-messages")
def prune_device_messages() -> int:
    from nuanxin.energy.services.device import device_messages_prune

    return device_messages_prune()
