"""Ids in creation order per ledger, and the marks of writes made without audit events.

Ids are ULIDs (48 bits of milliseconds first). A clock set back would make a later id sort
before an earlier one, so every write transaction first moves this process's id clock past
the largest id the ledger holds (it holds the write lock, so no other writer adds one
meanwhile): an id is max(clock, last id) + 1.

A write with APP_EVENTS=memory keeps no events; it leaves a `vb_meta` row
`unaudited:FIRST` = `LAST`, the range of the ids it made (as ULID integers), so `vb db check`
can tell those rows from rows whose events were removed.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from vbcli.domain import ids

ID_TABLES = ("portfolios", "positions", "orders", "trades", "events", "dividends", "cash_flows")
UNAUDITED = "unaudited:"
_SEQ_DIGITS = 39  # a 128-bit ULID in decimal
_MILLIS_DIGITS = 15  # the earlier marks: milliseconds


def begin_write(conn: Connection) -> int:
    """Advance the id clock past the ledger's largest id; the least record_seq of the next id."""
    # Each max(id) is one primary-key index lookup.
    query = "SELECT " + ", ".join(f"(SELECT max(id) FROM {table})" for table in ID_TABLES)
    for last in conn.execute(text(query)).one():
        if last:
            ids.advance_past(last)
    return ids.next_seq()


def mark_unaudited(conn: Connection, first_seq: int) -> None:
    """Record that the ids from `first_seq` to the last one made were written without events.

    Whole ids, not milliseconds: after the clock went back, later writes share the millisecond
    of the last id, and a window of milliseconds would excuse their rows too."""
    last = ids.last_seq()
    if last < first_seq:
        return  # nothing was created
    key = f"{UNAUDITED}{first_seq:0{_SEQ_DIGITS}d}"
    conn.execute(text("DELETE FROM vb_meta WHERE key = :key"), {"key": key})
    conn.execute(text("INSERT INTO vb_meta (key, value) VALUES (:key, :value)"), {"key": key, "value": str(last)})


def unaudited_windows(conn: Connection) -> list[tuple[int, int]]:
    """The record_seq ranges written with APP_EVENTS=memory, oldest first."""
    rows = conn.execute(text("SELECT key, value FROM vb_meta WHERE key LIKE 'unaudited:%' ORDER BY key")).all()
    windows = []
    for key, value in rows:
        first, last = int(key[len(UNAUDITED):]), int(value)
        if len(key) - len(UNAUDITED) <= _MILLIS_DIGITS:  # marked by an earlier vb: whole milliseconds
            first, last = first << 80, ((last + 1) << 80) - 1
        windows.append((first, last))
    return windows


def written_unaudited(object_id: str, windows: list[tuple[int, int]]) -> bool:
    """Whether this id was made by a write that kept no events."""
    if not windows:
        return False
    seq = ids.record_seq(object_id)
    return any(first <= seq <= last for first, last in windows)
