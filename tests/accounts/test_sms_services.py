"""SMS login codes and the worker login service: limits, expiry, tries, consent."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from nuanxin.accounts import services
from nuanxin.accounts.models import ConsentRecord, SmsCode, User, UserKind, WorkerProfile
from nuanxin.common.errors import ServiceError
from tests.factories.people import StaffFactory, WorkerFactory

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
VERSION = "2026-11"


def request_code(sms, phone=PHONE, ip="10.0.0.1") -> str:
    with sms.sending():
        services.sms_code_request(phone=phone, ip=ip)
    return sms.last_code(phone)


def age_codes(phone=PHONE, by=timedelta(minutes=2)):
    """Pretend the number's codes were sent `by` earlier (to get past the resend wait)."""
    for row in SmsCode.objects.filter(phone=phone):
        row.created_at -= by
        row.expires_at -= by
        row.save(update_fields=["created_at", "expires_at"])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def refusal(fn, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        fn(**kwargs)
    return caught.value


# Requesting and checking codes -------------------------------------------------------


def test_a_code_is_six_digits_lives_five_minutes_and_only_its_hash_is_stored(sms):
    code = request_code(sms)
    row = SmsCode.objects.get(phone=PHONE)
    assert len(code) == 6 and code.isdigit()
    assert row.expires_at - row.created_at == timedelta(minutes=5)
    assert code not in row.code_hash
    assert row.ip == "10.0.0.1"
    assert sms.messages[-1][0] == PHONE and "5 分钟" in sms.messages[-1][1]


def test_the_right_code_logs_in_once(sms):
    code = request_code(sms)
    assert services.sms_code_verify(phone=PHONE, code=code) == PHONE
    assert SmsCode.objects.get().consumed_at is not None
    again = refusal(services.sms_code_verify, phone=PHONE, code=code)
    assert again.code == "sms_code_expired"


def test_a_wrong_code_says_how_many_tries_are_left_and_the_count_is_kept(sms):
    code = request_code(sms)
    for left in (4, 3, 2, 1):
        err = refusal(services.sms_code_verify, phone=PHONE, code=wrong(code))
        assert (err.code, err.details["tries_left"], err.status) == ("sms_code_wrong", left, 400)
        assert SmsCode.objects.get().attempts == 5 - left


def test_the_fifth_wrong_try_burns_the_code_even_for_the_right_code_afterwards(sms):
    code = request_code(sms)
    for _ in range(4):
        refusal(services.sms_code_verify, phone=PHONE, code=wrong(code))
    fifth = refusal(services.sms_code_verify, phone=PHONE, code=wrong(code))
    assert (fifth.code, fifth.status) == ("sms_too_many_tries", 429)
    right = refusal(services.sms_code_verify, phone=PHONE, code=code)
    assert right.code == "sms_too_many_tries"
    assert SmsCode.objects.get().consumed_at is None


def test_wrong_tries_through_the_login_service_count_too(sms):
    """The login service wraps the check; a refusal must not roll the count back."""
    code = request_code(sms)
    for _ in range(5):
        refusal(services.worker_login_with_sms, phone=PHONE, code=wrong(code),
                consent_version=VERSION, ip=None)
    err = refusal(services.worker_login_with_sms, phone=PHONE, code=code,
                  consent_version=VERSION, ip=None)
    assert err.code == "sms_too_many_tries"
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_code_expires_after_five_minutes(sms):
    code = request_code(sms)
    age_codes(by=timedelta(minutes=5, seconds=1))
    err = refusal(services.sms_code_verify, phone=PHONE, code=code)
    assert err.code == "sms_code_expired"


def test_a_code_still_works_just_before_five_minutes(sms):
    code = request_code(sms)
    age_codes(by=timedelta(minutes=4, seconds=50))
    assert services.sms_code_verify(phone=PHONE, code=code) == PHONE


def test_only_the_newest_code_counts(sms):
    first = request_code(sms)
    age_codes()
    second = request_code(sms)
    if first != second:  # one chance in a million that both codes are the same
        assert refusal(services.sms_code_verify, phone=PHONE, code=first).code == "sms_code_wrong"
    assert services.sms_code_verify(phone=PHONE, code=second) == PHONE
    assert SmsCode.objects.filter(consumed_at__isnull=True).count() == 1  # the old one, unused


def test_no_code_requested_is_treated_as_expired():
    err = refusal(services.sms_code_verify, phone=PHONE, code="123456")
    assert err.code == "sms_code_expired"


def test_resending_within_a_minute_is_refused_with_the_wait(sms):
    request_code(sms)
    err = refusal(services.sms_code_request, phone=PHONE, ip="10.0.0.1")
    assert (err.code, err.status) == ("sms_resend_too_soon", 429)
    assert 1 <= err.details["retry_after"] <= 60
    age_codes(by=timedelta(seconds=61))
    request_code(sms)
    assert SmsCode.objects.filter(phone=PHONE).count() == 2


def test_ten_codes_a_day_per_number(sms):
    for _ in range(services.SMS_PER_PHONE_PER_DAY):
        request_code(sms)
        age_codes()
    err = refusal(services.sms_code_request, phone=PHONE, ip="10.0.0.2")
    assert (err.code, err.status) == ("sms_daily_limit", 429)
    age_codes(by=timedelta(hours=24))  # a day later the number may ask again
    request_code(sms)


def test_thirty_codes_an_hour_per_address(sms):
    for i in range(services.SMS_PER_IP_PER_HOUR):
        services.sms_code_request(phone=f"139{i:08d}", ip="10.9.9.9")
    err = refusal(services.sms_code_request, phone="13700000000", ip="10.9.9.9")
    assert (err.code, err.status) == ("sms_ip_limit", 429)
    services.sms_code_request(phone="13700000000", ip="10.9.9.10")  # another address is fine


@pytest.mark.parametrize("raw", [
    "", "abc", "1380013800", "138001380001", "12800138000", "23800138000", "+1 2025550123",
    "1380013800a", "138 0013 800", "13800138000; drop table", "13٨00138000", "13800138000\n1",
])
def test_invalid_numbers_are_refused(raw):
    err = refusal(services.sms_code_request, phone=raw, ip=None)
    assert (err.code, err.status) == ("invalid_phone", 400)
    assert not SmsCode.objects.exists()


@pytest.mark.parametrize("raw", ["138 0013 8000", "+86 138-0013-8000", "8613800138000",
                                 "(138)00138000", "１３８００１３８０００", "＋８６ 138 0013 8000"])
def test_usual_ways_of_writing_a_number_are_accepted(raw, sms):
    with sms.sending():
        services.sms_code_request(phone=raw, ip=None)
    assert SmsCode.objects.get().phone == PHONE


def test_the_default_sender_writes_the_code_to_the_nuanxin_sms_log(caplog, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.NUANXIN_SMS_SENDER = "nuanxin.accounts.sms.log_sender"
    with caplog.at_level(logging.INFO, logger="nuanxin.sms"), \
            django_capture_on_commit_callbacks(execute=True):
        services.sms_code_request(phone=PHONE, ip=None)
    lines = [r.getMessage() for r in caplog.records if r.name == "nuanxin.sms"]
    assert len(lines) == 1 and PHONE in lines[0]
    code = lines[0].split("验证码是")[1].split("，")[0].strip()
    assert services.sms_code_verify(phone=PHONE, code=code) == PHONE


# Logging in: consent ------------------------------------------------------------------


def test_first_login_needs_consent_and_does_not_spend_the_code(sms):
    code = request_code(sms)
    err = refusal(services.worker_login_with_sms, phone=PHONE, code=code,
                  consent_version=None, ip="10.0.0.1")
    assert err.code == "consent_required" and err.details["notice_version"] == VERSION
    assert not User.objects.filter(phone=PHONE).exists()
    assert SmsCode.objects.get().consumed_at is None

    before = timezone.now()
    user = services.worker_login_with_sms(phone=PHONE, code=code, consent_version=VERSION,
                                          ip="10.0.0.1", occupation="courier")
    assert (user.kind, user.phone, user.has_usable_password()) == (UserKind.WORKER, PHONE, False)
    profile = WorkerProfile.objects.get(user=user)
    assert profile.consent_version == VERSION and profile.consented_at >= before
    assert profile.occupation == "courier"
    record = ConsentRecord.objects.get(user=user)
    assert (record.version, record.ip) == (VERSION, "10.0.0.1")
    assert record.accepted_at >= before
    assert SmsCode.objects.get().consumed_at is not None


def test_consent_to_an_old_version_is_not_consent(sms):
    code = request_code(sms)
    err = refusal(services.worker_login_with_sms, phone=PHONE, code=code,
                  consent_version="2020-01", ip=None)
    assert err.code == "consent_required"


def test_second_login_needs_no_consent_and_records_none(sms):
    worker = WorkerFactory(home_region_code=None, phone=PHONE)
    code = request_code(sms)
    user = services.worker_login_with_sms(phone=PHONE, code=code, consent_version=None, ip=None)
    assert user == worker and user.last_login is not None
    assert ConsentRecord.objects.filter(user=worker).count() == 1


def test_a_new_notice_version_asks_again_and_keeps_both_records(sms):
    worker = WorkerFactory(home_region_code=None, phone=PHONE, occupation="truck")
    WorkerProfile.objects.filter(user=worker).update(consent_version="2025-01")
    ConsentRecord.objects.filter(user=worker).update(version="2025-01")
    code = request_code(sms)
    err = refusal(services.worker_login_with_sms, phone=PHONE, code=code,
                  consent_version=None, ip=None)
    assert err.code == "consent_required"
    services.worker_login_with_sms(phone=PHONE, code=code, consent_version=VERSION, ip=None)
    profile = WorkerProfile.objects.get(user=worker)
    assert profile.consent_version == VERSION and profile.occupation == "truck"
    assert sorted(worker.consents.values_list("version", flat=True)) == ["2025-01", VERSION]


def test_a_wrong_code_says_the_same_for_known_and_unknown_numbers(sms):
    WorkerFactory(home_region_code=None, phone="13900000001")
    answers = []
    for phone in ("13900000001", "13900000002"):
        code = request_code(sms, phone=phone)
        err = refusal(services.worker_login_with_sms, phone=phone, code=wrong(code),
                      consent_version=None, ip=None)
        answers.append((err.code, err.details.get("tries_left")))
    assert answers == [("sms_code_wrong", 4), ("sms_code_wrong", 4)]


def test_a_staff_number_is_refused_only_after_the_right_code(sms):
    StaffFactory(phone=PHONE)
    code = request_code(sms)
    assert refusal(services.worker_login_with_sms, phone=PHONE, code=wrong(code),
                   consent_version=VERSION, ip=None).code == "sms_code_wrong"
    assert refusal(services.worker_login_with_sms, phone=PHONE, code=code,
                   consent_version=VERSION, ip=None).code == "not_a_worker_account"


def test_an_unknown_occupation_is_refused(sms):
    code = request_code(sms)
    err = refusal(services.worker_login_with_sms, phone=PHONE, code=code,
                  consent_version=VERSION, ip=None, occupation="astronaut")
    assert err.code == "invalid_occupation"
    assert not User.objects.filter(phone=PHONE).exists()
