from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from nuanxin.needs.services import needs_escalate_overdue


@db_periodic_task(crontab(minute="5", hour="2"))
@lock_task("needs-escalate-overdue")
def escalate_overdue_needs() -> int:
    """Every night: overdue needs move to the level above (the SLA escalation)."""
    return needs_escalate_overdue()
