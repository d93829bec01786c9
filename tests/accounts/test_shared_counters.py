"""Lockouts and one-time codes hold across worker processes (issue 8, item 4).

Two real Python processes on the test database stand in for two gunicorn workers behind
one address; each try goes to the next process in turn, as a load balancer sends them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pyotp
import pytest
from django.db import connection, connections

from nuanxin.accounts import services
from nuanxin.accounts.models import SmsCode
from nuanxin.common.errors import ServiceError
from tests.accounts.test_staff_auth import totp_wrong
from tests.factories.people import STAFF_PASSWORD, StaffFactory

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self):
        env = {**os.environ, "DATABASE_URL": _database_url(),
               "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.accounts.worker_process"], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert "ready" in json.loads(self.process.stdout.readline())

    def send(self, **request) -> None:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def answer(self) -> dict:
        line = self.process.stdout.readline()
        assert line, "the worker process died"
        return json.loads(line)

    def ask(self, **request) -> dict:
        self.send(**request)
        return self.answer()

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=20)


@pytest.fixture
def workers(regions):
    pair = [Worker(), Worker()]
    yield pair
    for worker in pair:
        worker.stop()


def test_wrong_passwords_count_across_processes_and_the_lock_holds_in_both(workers):
    staff = StaffFactory(role="community_staff")
    seen = []
    for n in range(10):
        answer = workers[n % 2].ask(op="password", username=staff.username,
                                    password="not-the-password", ip="10.0.0.1")
        seen.append(answer.get("tries_left", answer["code"]))
    assert seen == [9, 8, 7, 6, 5, 4, 3, 2, 1, "login_locked"]
    for worker in workers:
        answer = worker.ask(op="password", username=staff.username, password=STAFF_PASSWORD,
                            ip="10.0.0.2")
        assert answer == {"ok": False, "code": "login_locked", "retry_after": 900}


def test_a_totp_code_is_accepted_once_by_one_of_two_processes(workers):
    admins = [StaffFactory(role="district_admin", totp=True) for _ in range(4)]
    for admin in admins:
        code = pyotp.TOTP(admin.totp_secret).now()
        # Both processes get the same code at the same moment.
        for worker in workers:
            worker.send(op="totp", username=admin.username, code=code)
        answers = [worker.answer() for worker in workers]
        assert sorted(a["ok"] for a in answers) == [False, True], answers
        assert {"ok": False, "code": "totp_reused"} in answers
        # And later, to either of them, it is still spent.
        for worker in workers:
            assert worker.ask(op="totp", username=admin.username, code=code)["code"] == \
                "totp_reused"


def test_wrong_totp_codes_lock_across_processes(workers):
    admin = StaffFactory(role="city_admin", totp=True)
    totp = pyotp.TOTP(admin.totp_secret)
    bad = totp_wrong(admin)
    for n in range(10):
        workers[n % 2].ask(op="totp", username=admin.username, code=bad)
    for worker in workers:
        assert worker.ask(op="totp", username=admin.username, code=totp.now())["code"] == \
            "login_locked"


def test_simultaneous_code_requests_for_one_number_send_one_code(regions, settings):
    settings.NUANXIN_SMS_SENDER = "tests.accounts.outbox.capture"
    start = threading.Barrier(6)
    outcomes = []

    def request():
        start.wait()
        try:
            services.sms_code_request(phone="13800138000", ip="10.0.0.9")
            outcomes.append("sent")
        except ServiceError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["sent"] + ["sms_resend_too_soon"] * 5
    assert SmsCode.objects.filter(phone="13800138000").count() == 1
