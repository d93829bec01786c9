"""SMS senders. Production plugs a gateway in through NUANXIN_SMS_SENDER."""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("nuanxin.sms")


def log_sender(phone: str, text: str) -> None:
    """The embedded default: the message goes to the log (and so to the console)."""
    logger.info("SMS to %s: %s", phone, text)


def send_sms(phone: str, text: str) -> None:
    import_string(settings.NUANXIN_SMS_SENDER)(phone, text)
