"""An SMS sender for tests: keeps messages in memory so a test can read the code."""

import re

MESSAGES: list[tuple[str, str]] = []


def capture(phone: str, text: str) -> None:
    MESSAGES.append((phone, text))


def last_code(phone: str) -> str:
    for to, text in reversed(MESSAGES):
        if to == phone:
            return re.search(r"\d{6}", text).group(0)
    raise AssertionError(f"no SMS sent to {phone}")
