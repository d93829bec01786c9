from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from nuanxin.surveys.services import surveys_close_expired


@db_periodic_task(crontab(minute="*/10"))
@lock_task("surveys-close-expired")
def close_expired_surveys() -> int:
    """Every ten minutes: published surveys past their closing time become closed (answers
    are refused at the closing time anyway; this makes the state say so)."""
    return surveys_close_expired()
