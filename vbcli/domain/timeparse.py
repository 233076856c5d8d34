"""Time input and output: UTC inside, RFC 3339 outside (SPEC §1)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from vbcli.errors import UsageError

RELATIVE_DAYS = {"today": 0, "yesterday": -1}  # UTC days


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(text: str, *, what: str, end_of_day: bool = False) -> datetime:
    """Parse `2026-11-26` (or `20261126`), a date-time with offset (`…T14:30:00Z`), `now`, `today` or `yesterday`.

    A bare date means the start of that UTC day, or with `end_of_day` its last instant, so
    that `--until 2026-11-26` includes the whole day.
    """
    raw = str(text).strip()
    lowered = raw.lower()
    if lowered == "now":
        return utcnow()
    if lowered in RELATIVE_DAYS:
        day = utcnow().date() + timedelta(days=RELATIVE_DAYS[lowered])
    else:
        day = _parse_date_only(raw)
    if day is not None:
        if end_of_day:
            return datetime.combine(day + timedelta(days=1), time(), timezone.utc) - timedelta(microseconds=1)
        return datetime.combine(day, time(), timezone.utc)
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what} {raw[:40]!r} is not a date (2026-11-26), a date-time with offset (2026-11-26T14:30:00Z), now, today or yesterday.") from None
    if value.tzinfo is None:
        raise UsageError(f"{what} {raw[:40]!r} has no UTC offset; add Z or +HH:MM, or give a date.")
    if not 1900 <= value.year <= 9998:
        raise UsageError(f"{what} {raw[:40]!r} is out of range.")
    return value.astimezone(timezone.utc)


def parse_date(text: str, *, what: str) -> date:
    """A calendar date (`2026-11-26`, `today`)."""
    raw = str(text).strip()
    if raw.lower() in RELATIVE_DAYS:
        return utcnow().date() + timedelta(days=RELATIVE_DAYS[raw.lower()])
    day = _parse_date_only(raw)
    if day is None:
        raise UsageError(f"{what} {raw[:40]!r} is not a date such as 2026-11-26.")
    return day


def _parse_date_only(raw: str) -> date | None:
    """`2026-11-26`, or the same date in ISO 8601's basic form `20261126`."""
    if len(raw) == 8 and raw.isascii() and raw.isdigit():
        raw = f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
    if len(raw) != 10 or raw[4] != "-" or raw[7] != "-":
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    if not 1900 <= day.year <= 9998:
        return None
    return day


def rfc3339(value: datetime | None) -> str | None:
    """`2026-11-26T14:30:00Z`, with fractional seconds only when present."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str, *, what: str) -> timedelta:
    """A duration such as `4d`, `36h`, `90m`, `2w` or `30s` (a whole number and a unit)."""
    raw = str(text).strip().lower()
    if len(raw) < 2 or raw[-1] not in _AGE_UNITS or not raw[:-1].isdigit() or not raw[:-1].isascii():
        raise UsageError(f"{what} {raw[:20]!r} is not a duration such as 4d, 36h, 90m or 2w.")
    seconds = int(raw[:-1]) * _AGE_UNITS[raw[-1]]
    if seconds > 100 * 365 * 86400:
        raise UsageError(f"{what} {raw[:20]!r} is longer than 100 years.")
    return timedelta(seconds=seconds)
