"""How alike two needs read, for Chinese text.

Chinese has no spaces between words, and the same complaint comes in any order
(充电难、充电慢、不安全 / 充电慢、充电难，还不安全), so word tokens and edit distance both
fail: a difflib ratio puts that pair at 0.19. The Dice coefficient over character bigrams
(two-character pieces, punctuation as breaks) sees the shared 充电 / 电难 / 安全 whatever
their order, and is a few lines with no word list to keep up to date.
"""

from __future__ import annotations

import re
from collections import Counter

from django.utils.translation import gettext_lazy as _

VERY_SIMILAR = 0.6
SIMILAR = 0.3

_BREAKS = re.compile(r"[\W_]+")


def bigrams(text: str) -> Counter:
    grams: Counter = Counter()
    for part in _BREAKS.split(text.lower()):
        if len(part) == 1:
            grams[part] += 1
        grams.update(part[i:i + 2] for i in range(len(part) - 1))
    return grams


def dice(a: str, b: str) -> float:
    """0 (nothing in common) to 1 (the same pieces)."""
    grams_a, grams_b = bigrams(a), bigrams(b)
    total = sum(grams_a.values()) + sum(grams_b.values())
    if not total:
        return 0.0
    return 2 * sum((grams_a & grams_b).values()) / total


def text_similarity(a_title: str, a_text: str, b_title: str, b_text: str) -> float:
    """The titles' likeness, or the whole texts' if that is higher (one need may say in
    its description what the other says in its title)."""
    return max(dice(a_title, b_title), dice(f"{a_title} {a_text}", f"{b_title} {b_text}"))


def similarity_label(score: float):
    """The words staff see instead of a number: 很相似, 相似, or "" (not alike in words)."""
    if score >= VERY_SIMILAR:
        return _("很相似")
    if score >= SIMILAR:
        return _("相似")
    return ""


def similarity_level(score: float) -> str:
    """The same judgement as a stable code for the API."""
    if score >= VERY_SIMILAR:
        return "very_similar"
    return "similar" if score >= SIMILAR else "different"
