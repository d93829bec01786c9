"""One stand-in for a gunicorn worker: its own process, memory and database connection.

Reads one JSON request a line on stdin, answers one JSON line on stdout. The test starts
two of these on the test database and sends tries to each in turn, as a load balancer
would, to show that lockouts and one-time codes hold across processes.
"""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nuanxin.test_settings")
django.setup()

from nuanxin.accounts import services  # noqa: E402
from nuanxin.accounts.models import User  # noqa: E402
from nuanxin.common.errors import ServiceError  # noqa: E402


def handle(request: dict) -> dict:
    if request["op"] == "password":
        services.staff_authenticate(username=request["username"],
                                    password=request["password"], ip=request.get("ip"))
    elif request["op"] == "totp":
        user = User.objects.get(username=request["username"])
        services.staff_totp_check(user=user, code=request["code"], ip=request.get("ip"))
    return {"ok": True}


print(json.dumps({"ready": os.getpid()}), flush=True)
for line in sys.stdin:
    try:
        answer = handle(json.loads(line))
    except ServiceError as exc:
        answer = {"ok": False, "code": exc.code, **exc.details}
    print(json.dumps(answer), flush=True)
