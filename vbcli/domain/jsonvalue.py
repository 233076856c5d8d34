"""The one conversion of values to JSON: decimals as exact strings, times as RFC 3339 UTC."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from vbcli.domain.numbers import fmt
from vbcli.domain.timeparse import rfc3339


def json_value(value: Any) -> Any:
    """JSON-ready value: decimals as strings, datetimes as RFC 3339, dates ISO, recursively."""
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
