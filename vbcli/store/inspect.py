"""Looking at an existing SQLite file read-only, before any engine touches it: refuse anything
that is not a vb ledger, or is corrupt, truncated or newer."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from vbcli.config import Location
from vbcli.errors import DatabaseUnavailable
from vbcli.store.dberrors import translate_db_error
from vbcli.store.settings import busy_timeout_seconds
from vbcli.store.tables import APP_MARKER

SQLITE_HEADER = b"SQLite format 3\x00"
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005")  # oldest first; the last is SCHEMA_REVISION
QUICK_CHECK_MAX_BYTES = 32 * 1024 * 1024  # larger ledgers get the structural check from `vb db check`


@dataclass
class SchemaState:
    revision: str | None  # None: no vb schema yet (a new or empty database)


def inspect_sqlite_file(location: Location) -> SchemaState:
    """Look at an existing SQLite file read-only and refuse anything that is not a vb ledger.

    Nothing is created next to the file (no -wal, -shm or journal) and nothing is written.
    """
    path = location.path
    assert path is not None
    if not path.exists():
        return SchemaState(revision=None)
    if path.is_dir():
        raise DatabaseUnavailable(f"{path} is a directory, not a vb ledger file.")
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
        size = path.stat().st_size
    except OSError as exc:
        raise DatabaseUnavailable(f"Cannot read the ledger {path}: {exc.strerror}.") from None
    if header[:16] != SQLITE_HEADER:
        what = "empty" if not header else "not a SQLite database"
        raise DatabaseUnavailable(f"{path} is {what}, so it is not a vb ledger; it was left untouched.")
    problem = _header_problem(header, size)
    if problem:
        raise DatabaseUnavailable(f"{path} is corrupt ({problem}); it was left untouched. Restore it from a backup.")
    try:
        return _inspect_tables(path, size)
    except sqlite3.DatabaseError as exc:
        # A full or failing disk, a lock or a permission is not the file's fault: say which.
        translated = translate_db_error(exc, location) if isinstance(exc, sqlite3.OperationalError) else None
        if translated is not None and "corrupt" not in translated.message:
            raise translated from None
        raise DatabaseUnavailable(f"{path} is corrupt or not a vb ledger ({exc}); it was left untouched.") from None


def _header_problem(header: bytes, size: int) -> str | None:
    """A truncated file shows in its header: fewer bytes than the pages it says it holds."""
    if len(header) < 100:
        return "the file is shorter than a SQLite header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return "its header names an impossible page size"
    if header[92:96] == header[24:28]:  # the in-header page count is valid
        pages = int.from_bytes(header[28:32], "big")
        if size < pages * page_size:
            return f"the file is truncated: {size} bytes of {pages * page_size}"
    return None


IMMUTABLE_READ_ATTEMPTS = 3


def _inspect_tables(path: Any, size: int) -> SchemaState:
    # Without a -wal file the main file is the whole ledger: read it as immutable, which takes
    # no locks and creates no -shm. With one, another vb may be writing: open read-only normally.
    # A writer can start between that look and the read and checkpoint under it, so an
    # immutable read that finds a problem looks again before the file is called corrupt.
    wal = path.with_name(path.name + "-wal")
    for attempt in range(IMMUTABLE_READ_ATTEMPTS):
        if wal.exists():
            return _read_tables(path, size, "mode=ro")
        try:
            return _read_tables(path, size, "mode=ro&immutable=1")
        except (sqlite3.DatabaseError, DatabaseUnavailable):
            if attempt + 1 == IMMUTABLE_READ_ATTEMPTS:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _read_tables(path: Any, size: int, query: str) -> SchemaState:
    conn = sqlite3.connect(f"file:{quote(str(path))}?{query}", uri=True, timeout=busy_timeout_seconds())
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return SchemaState(revision=None)
        if "vb_meta" not in tables:
            raise DatabaseUnavailable(f"{path} is another program's SQLite database, not a vb ledger; it was left untouched.")
        marker = conn.execute("SELECT value FROM vb_meta WHERE key='app'").fetchone()
        if not marker or marker[0] != APP_MARKER:
            raise DatabaseUnavailable(f"{path} is not a vb ledger; it was left untouched.")
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone() if "alembic_version" in tables else None
        if size <= QUICK_CHECK_MAX_BYTES:  # tens of milliseconds; `vb db check` checks every size
            verdict = conn.execute("PRAGMA quick_check(1)").fetchone()
            if verdict and verdict[0] != "ok":
                raise DatabaseUnavailable(f"{path} is corrupt ({verdict[0]}); it was left untouched. Restore it from a backup.")
    finally:
        conn.close()
    return SchemaState(revision=revision[0] if revision else None)


def check_revision(state: SchemaState, location: Location) -> None:
    if state.revision is not None and state.revision not in KNOWN_REVISIONS:
        raise DatabaseUnavailable(
            f"The ledger {location.display} was written by a newer vb (schema {state.revision}); upgrade vb to use it."
        )
