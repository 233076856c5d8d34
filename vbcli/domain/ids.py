"""Object ids: a kind prefix and a ULID (time-ordered, unique across machines)."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_lock = threading.Lock()
_last = (0, 0)

PREFIXES = {
    "portfolio": "pf_",
    "position": "pos_",
    "order": "ord_",
    "trade": "trd_",
    "event": "evt_",
    "dividend": "div_",
    "cash_flow": "cf_",
}


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(kind: str) -> str:
    """A new id such as `trd_01jd…`: 48 bits of milliseconds then 80 random bits.

    Within one process ids made in the same millisecond increase (monotonic ULID), so ids
    sort in creation order.
    """
    global _last
    with _lock:
        millis = time.time_ns() // 1_000_000
        last_millis, last_random = _last
        if millis <= last_millis:
            millis, randomness = last_millis, last_random + 1
        else:
            randomness = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last = (millis, randomness)
    return PREFIXES[kind] + _encode(millis, 10) + _encode(randomness, 16)
