"""Closed sets of words users type (formats, sides, statuses): the nearest valid one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(value: str, valid: Iterable[str]) -> str | None:
    """The valid word closest to `value` (difflib), or None when nothing is close."""
    close = difflib.get_close_matches(value.strip().lower(), list(valid), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(value: str, valid: Iterable[str]) -> str:
    """` (did you mean X?)` for the nearest valid word, or nothing."""
    word = nearest(value, valid)
    return f" (did you mean {word}?)" if word else ""
