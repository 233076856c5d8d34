"""Ids in creation order per ledger, and the marks of writes made without audit events.

Ids are ULIDs (48 bits of milliseconds first). A clock set back would make a later id sort
before an earlier one, so every write transaction first moves this process's id clock past
the largest id the ledger holds (it holds the write lock, so no other writer adds one
meanwhile): an id is max(clock, last id) + 1.

A write with APP_EVENTS=memory keeps no events; it leaves a `vb_meta` row
`unaudited:FIRST_MS` = `LAST_MS`, the id milliseconds of what it wrote, so `vb db check` can
tell those rows from rows whose events were removed.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from vbcli.domain import ids

ID_TABLES = ("portfolios", "positions", "orders", "trades", "events", "dividends", "cash_flows")
UNAUDITED = "unaudited:"


def begin_write(conn: Connection) -> int:
    """Advance the id clock past the ledger's largest id; the millisecond the next id will carry."""
    # Each max(id) is one primary-key index lookup.
    query = "SELECT " + ", ".join(f"(SELECT max(id) FROM {table})" for table in ID_TABLES)
    for last in conn.execute(text(query)).one():
        if last:
            ids.advance_past(last)
    return ids.next_millis()


def mark_unaudited(conn: Connection, first_millis: int) -> None:
    """Record that ids from `first_millis` to the last one made were written without events."""
    last = ids.last_millis()
    if last < first_millis:
        return  # nothing was created
    conn.execute(text("DELETE FROM vb_meta WHERE key = :key"), {"key": f"{UNAUDITED}{first_millis:015d}"})
    conn.execute(text("INSERT INTO vb_meta (key, value) VALUES (:key, :value)"),
                 {"key": f"{UNAUDITED}{first_millis:015d}", "value": str(last)})


def unaudited_windows(conn: Connection) -> list[tuple[int, int]]:
    """The id-millisecond ranges written with APP_EVENTS=memory, oldest first."""
    rows = conn.execute(text("SELECT key, value FROM vb_meta WHERE key LIKE 'unaudited:%' ORDER BY key")).all()
    return [(int(key[len(UNAUDITED):]), int(value)) for key, value in rows]


def written_unaudited(object_id: str, windows: list[tuple[int, int]]) -> bool:
    """Whether this id was made by a write that kept no events."""
    if not windows:
        return False
    millis = ids.millis_of(object_id)
    return any(first <= millis <= last for first, last in windows)
