"""`nuanxin run` on a machine shared with other instances (issue 8, item 18)."""

from pathlib import Path

from django.conf import settings

from nuanxin.ops.management.commands.run import gunicorn_args


def _option(args, name):
    return args[args.index(name) + 1]


def test_two_instances_get_their_own_control_sockets_under_the_var_dir():
    first = _option(gunicorn_args(host="127.0.0.1", port=8000, workers=2), "--control-socket")
    second = _option(gunicorn_args(host="127.0.0.1", port=9000, workers=2), "--control-socket")
    assert first != second
    assert Path(first).parent == Path(settings.VAR_DIR)
    # A unix socket path must fit in sockaddr_un.
    assert len(first) < 108


def test_long_addresses_reach_the_application():
    assert _option(gunicorn_args(host="127.0.0.1", port=8000, workers=2),
                   "--limit-request-line") == "8190"
