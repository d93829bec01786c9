import pytest
from django.core.cache import cache

from tests.accounts import outbox


@pytest.fixture(autouse=True)
def _fresh_cache_and_outbox():
    """Messages live in the outbox (and pages may cache): each test starts clean."""
    cache.clear()
    outbox.messages.clear()
    yield
    cache.clear()


class SmsBox:
    """Codes are delivered after the transaction commits; tests run inside one, so
    `with sms.sending(): ...` runs the delivery when the block ends."""

    def __init__(self, capture):
        self._capture = capture
        self.messages = outbox.messages

    def sending(self):
        return self._capture(execute=True)

    @staticmethod
    def last_code(phone: str) -> str:
        return outbox.last_code(phone)


@pytest.fixture
def sms(settings, django_capture_on_commit_callbacks):
    settings.NUANXIN_SMS_SENDER = "tests.accounts.outbox.capture"
    return SmsBox(django_capture_on_commit_callbacks)
