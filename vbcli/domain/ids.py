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
    "split": "spl_",
    "anchor": "anc_",
    "checkpoint": "chk_",
}


def record_seq(object_id: str) -> int:
    """An id's ULID as an integer: the record order of facts of every kind (SPEC §8.1 ties)."""
    number = 0
    for char in object_id.rpartition("_")[2]:
        number = number * 32 + _ALPHABET.index(char)
    return number


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def _reserve(count: int) -> tuple[int, int]:
    """Reserve `count` consecutive (millisecond, randomness) ids; monotonic within the process."""
    global _last
    with _lock:
        millis = time.time_ns() // 1_000_000
        last_millis, last_random = _last
        if millis <= last_millis:
            millis, randomness = last_millis, last_random + 1
        else:
            randomness = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last = (millis, randomness + count - 1)
    return millis, randomness


def forget_last() -> None:
    """Start this process's id sequence afresh (the command server, before forking workers
    that would otherwise all continue the same sequence)."""
    global _last
    with _lock:
        _last = (0, 0)


def _decode(text: str) -> int:
    number = 0
    for char in text.lower():
        number = number * 32 + _ALPHABET.index(char)
    return number


def millis_of(object_id: str) -> int:
    """The creation millisecond an id carries (0 for an id that is not vb's)."""
    ulid = object_id.rpartition("_")[2]
    try:
        return _decode(ulid[:10]) if len(ulid) == 26 else 0
    except ValueError:
        return 0


def advance_past(object_id: str) -> None:
    """Make every later id of this process sort after `object_id` (another process's, or one
    made before the clock was set back): ids are max(clock, last id) + 1."""
    global _last
    ulid = object_id.rpartition("_")[2]
    if len(ulid) != 26:
        return
    try:
        seen = (_decode(ulid[:10]), _decode(ulid[10:]))
    except ValueError:
        return
    with _lock:
        if seen > _last:
            _last = seen


def next_seq() -> int:
    """The least `record_seq` the next id can have (ids made in one millisecond differ after it)."""
    with _lock:
        millis, randomness = _last
        now = time.time_ns() // 1_000_000
        return now << 80 if now > millis else (millis << 80) + randomness + 1


def last_seq() -> int:
    """The `record_seq` of the last id this process made or saw."""
    millis, randomness = _last
    return (millis << 80) + randomness


def new_id(kind: str) -> str:
    """A new id such as `trd_01jd…`: 48 bits of milliseconds then 80 random bits.

    Within one process ids made in the same millisecond increase (monotonic ULID), so ids
    sort in creation order.
    """
    millis, randomness = _reserve(1)
    return PREFIXES[kind] + _encode(millis, 10) + _encode(randomness, 16)


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits → two base32 digits


def new_ids(kind: str, count: int) -> list[str]:
    """`count` new ids at once (bulk paths): the monotonic successors `new_id` would give, faster."""
    if count <= 0:
        return []
    millis, randomness = _reserve(count)
    head, pairs = PREFIXES[kind] + _encode(millis, 10), _PAIRS
    return [head + "".join([pairs[(n >> 70) & 1023], pairs[(n >> 60) & 1023], pairs[(n >> 50) & 1023], pairs[(n >> 40) & 1023],
                            pairs[(n >> 30) & 1023], pairs[(n >> 20) & 1023], pairs[(n >> 10) & 1023], pairs[n & 1023]])
            for n in range(randomness, randomness + count)]
