from huey import crontab
from huey.contrib.djhuey import db_periodic_task, task

from nuanxin.accounts.sms import send_sms


@task(retries=3, retry_delay=10)
def deliver_sms(phone: str, text: str) -> None:
    send_sms(phone, text)


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_old_sms_codes() -> int:
    from nuanxin.accounts.services import sms_codes_purge

    return sms_codes_purge()


@db_periodic_task(crontab(minute="*/30"))
def purge_expired_counters() -> int:
    """Lockout counters past their window count for nothing; drop them."""
    from nuanxin.accounts.throttle import purge_expired

    return purge_expired()
