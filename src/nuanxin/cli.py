"""`nuanxin <command>`: the platform's console command (also `python -m nuanxin`).

Every Django management command works (`nuanxin migrate`); ours are `run`, `seed`,
`createstaff` and `totp`.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nuanxin.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    execute_from_command_line(["nuanxin", *args])


if __name__ == "__main__":
    main()
