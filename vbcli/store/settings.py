"""Settings the store reads from the environment: timeouts, in-memory events, auto-create."""

from __future__ import annotations

import math
import os

from vbcli.config import env_choice, env_flag
from vbcli.errors import UsageError


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise UsageError(f"{name} must be a number of seconds, not {raw[:20]!r}.") from None
    if not 0 <= value <= 86400:  # also refuses nan and inf
        raise UsageError(f"{name} must be between 0 and 86400 seconds, not {raw[:20]!r}.")
    return value


def busy_timeout_seconds() -> float:
    """How long a writer waits for another writer's lock (VB_BUSY_TIMEOUT, default 30 s)."""
    return _seconds("VB_BUSY_TIMEOUT", 30.0)


def connect_timeout_seconds() -> int:
    """libpq's connect_timeout (VB_CONNECT_TIMEOUT, default 5 s; libpq's minimum is 2)."""
    return max(2, math.ceil(_seconds("VB_CONNECT_TIMEOUT", 5.0)))


def events_enabled() -> bool:
    enabled = env_choice("APP_EVENTS", ("sql", "memory"), "sql") == "sql"
    return enabled


def auto_create_enabled() -> bool:
    return env_flag("APP_AUTO_CREATE", True)
