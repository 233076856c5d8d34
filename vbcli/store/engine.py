"""Opening a ledger: checks that refuse foreign or newer files untouched, engines, transactions."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from vbcli import faults
from vbcli.config import Location, env_choice, env_flag
from vbcli.errors import DatabaseUnavailable, UsageError, VbError
from vbcli.store.tables import APP_MARKER, SCHEMA_REVISION

T = TypeVar("T")

SQLITE_HEADER = b"SQLite format 3\x00"
KNOWN_REVISIONS = ("0001", "0003")  # oldest first; the last is SCHEMA_REVISION
PG_RETRYABLE = ("40001", "40P01")  # serialization failure, deadlock
QUICK_CHECK_MAX_BYTES = 32 * 1024 * 1024  # larger ledgers get the structural check from `vb db check`
SQLITE_LOCK_POLL_MS = 200  # one BEGIN IMMEDIATE attempt; Ctrl-C is honoured between attempts
committed_writes = 0  # write transactions committed by this process (for the interrupt message)


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


def _inspect_tables(path: Any, size: int) -> SchemaState:
    # Without a -wal file the main file is the whole ledger: read it as immutable, which takes
    # no locks and creates no -shm. With one, another vb may be writing: open read-only normally.
    wal = path.with_name(path.name + "-wal")
    query = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
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


def make_engine(location: Location) -> Engine:
    """An engine with the pragmas, timeouts and transaction start that vb's guarantees need."""
    if location.engine == "postgresql":
        try:
            make_url(location.url)
        except (ValueError, ArgumentError):
            raise UsageError(f"The database URL {location.display} is malformed; see `vb --help` for the form.") from None
        return create_engine(location.url, connect_args={"connect_timeout": connect_timeout_seconds()})
    if location.source == "memory":
        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(location.url, connect_args={"timeout": busy_timeout_seconds()})
    _install_sqlite_hooks(engine)
    return engine


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling starts a deferred transaction late; vb starts
        # its own, so that writers take the write lock before reading (BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        timeout_ms = int(busy_timeout_seconds() * 1000)
        dbapi_connection.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        dbapi_connection.execute("PRAGMA synchronous = FULL")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("vb_write", False):
            _begin_immediate(conn.connection.dbapi_connection)
        else:
            conn.exec_driver_sql("BEGIN")


def _begin_immediate(dbapi_connection: Any) -> None:
    """Take SQLite's write lock, waiting up to VB_BUSY_TIMEOUT in short attempts.

    SQLite's own busy wait sleeps inside C, where Ctrl-C and SIGTERM cannot reach Python;
    short attempts keep the wait interruptible.
    """
    total_ms = int(busy_timeout_seconds() * 1000)
    deadline = time.monotonic() + total_ms / 1000
    dbapi_connection.execute(f"PRAGMA busy_timeout = {min(total_ms, SQLITE_LOCK_POLL_MS)}")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.Error as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {total_ms}")


def translate_db_error(exc: BaseException, location: Location) -> DatabaseUnavailable | None:
    """Turn a driver error that means "database unavailable" into the user's sentence."""
    full = str(getattr(exc, "orig", None) or exc).strip()
    message = _scrub(full.splitlines()[0] if full else "", location)
    lowered = message.lower()
    where = location.display
    if location.engine == "postgresql":
        return _translate_pg(exc, lowered, message, location)
    if "database is locked" in lowered or "database is busy" in lowered:
        return DatabaseUnavailable(f"The ledger {where} stayed locked by another program for {busy_timeout_seconds():g}s; try again later.")
    if "readonly" in lowered or "read-only" in lowered:
        return DatabaseUnavailable(f"The ledger {where} is read-only; nothing was written.")
    if "disk" in lowered and ("full" in lowered or "i/o" in lowered):
        return DatabaseUnavailable(f"The disk holding {where} is full or failing; nothing was written.")
    if "unable to open" in lowered:
        return DatabaseUnavailable(f"Cannot open the ledger {where}; check the path and its permissions.")
    if "malformed" in lowered or "not a database" in lowered:
        return DatabaseUnavailable(f"The ledger {where} is corrupt ({message}).")
    return None


def _translate_pg(exc: BaseException, lowered: str, message: str, location: Location) -> DatabaseUnavailable | None:
    state = pg_sqlstate(exc)
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return None  # integrity and programming errors are bugs (exit 1), not an unavailable database
    url = make_url(location.url)
    server = f"{url.host or 'localhost'}:{url.port or 5432}"
    if state in PG_RETRYABLE:
        return DatabaseUnavailable(f"The ledger {location.display} stayed busy with conflicting writers after several attempts; try again.")
    if state == "55P03" or "lock timeout" in lowered:
        return DatabaseUnavailable(f"The ledger {location.display} stayed locked by another program for {busy_timeout_seconds():g}s; try again later.")
    if state == "25006" or "read-only transaction" in lowered:
        return DatabaseUnavailable(f"The PostgreSQL ledger at {server} is read-only; nothing was written.")
    if state == "53100" or "no space left" in lowered:
        return DatabaseUnavailable(f"The PostgreSQL server at {server} is out of disk space; nothing was written.")
    if "role" in lowered and "does not exist" in lowered or "authentication failed" in lowered or "no password" in lowered:
        return DatabaseUnavailable(f"The PostgreSQL server at {server} refused the login of user {url.username or '(default)'!r}; check the user and password in the URL.")
    if "database" in lowered and "does not exist" in lowered:
        return DatabaseUnavailable(f"The database {url.database!r} does not exist on the PostgreSQL server at {server}; create it first (createdb).")
    if "timeout expired" in lowered or "timed out" in lowered:
        return DatabaseUnavailable(f"The PostgreSQL server at {server} did not answer within {connect_timeout_seconds()}s (VB_CONNECT_TIMEOUT); check the host and the network.")
    if "connection refused" in lowered or "resolve host" in lowered or "could not connect" in lowered or "connection failed" in lowered:
        return DatabaseUnavailable(f"Cannot reach the PostgreSQL server at {server} ({_reason(message)}); check that it runs and the URL.")
    return DatabaseUnavailable(f"Cannot use the PostgreSQL ledger {location.display}: {message}.")


def _reason(message: str) -> str:
    return message.rsplit("failed:", 1)[-1].strip().rstrip(".") or message


def _scrub(message: str, location: Location) -> str:
    """Remove the URL's password from a driver message, whatever the driver chose to quote."""
    from vbcli.config import mask_password

    message = mask_password(message)
    try:
        password = make_url(location.url).password
    except (ValueError, ArgumentError):
        password = None
    if password:
        message = message.replace(str(password), "***")
    return message


def pg_sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None)


def run_with_retries(work: Callable[[], T], location: Location, attempts: int = 5) -> T:
    """Run a whole transaction again on PostgreSQL serialization failures and deadlocks."""
    for attempt in range(attempts):
        try:
            return work()
        except DBAPIError as exc:
            if location.engine == "postgresql" and pg_sqlstate(exc) in PG_RETRYABLE and attempt < attempts - 1:
                time.sleep(0.05 * (attempt + 1))
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def session_scope(engine: Engine, *, write: bool, events: bool) -> Iterator[Session]:
    """One transaction. Writers hold the ledger's write lock from the first statement."""
    with engine.connect() as conn:
        conn.execution_options(vb_write=write)
        with conn.begin() as transaction:
            session = Session(bind=conn, expire_on_commit=False, autoflush=True)
            session.info["vb_events"] = events
            session.info["vb_dialect"] = engine.dialect.name
            try:
                if write and engine.dialect.name == "postgresql":
                    set_pg_lock_timeout(conn)
                    # The head row is PostgreSQL's ledger-wide write lock: writers queue here.
                    session.exec(text("SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE"))  # type: ignore[call-overload]
                yield session
                session.flush()
            except VbError as error:
                # A refusal that keeps its record (order_rejected) commits what it wrote.
                if error.commit and not session.info.get("vb_dry_run"):
                    session.flush()
                    session.close()
                    transaction.commit()
                else:
                    session.close()
                    _rollback(transaction)
                raise
            except BaseException:
                session.close()
                _rollback(transaction)
                raise
            session.close()
            faults.point("before_commit")
            _commit(transaction, write)


def _rollback(transaction: Any) -> None:
    # A failed flush may already have ended the transaction; rolling back twice only warns.
    if transaction.is_active:
        transaction.rollback()


def set_pg_lock_timeout(conn: Connection) -> None:
    """Wait at most VB_BUSY_TIMEOUT for PostgreSQL locks in this transaction (0 would mean forever)."""
    milliseconds = max(1, int(busy_timeout_seconds() * 1000))
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")


def _commit(transaction: Any, write: bool) -> None:
    """Commit with SIGINT/SIGTERM held back, so an interrupt lands before or after, never inside."""
    global committed_writes
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        transaction.commit()
        if write:
            committed_writes += 1
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def warn(message: str) -> None:
    print(f"vb: warning: {message}", file=sys.stderr)


def events_enabled() -> bool:
    enabled = env_choice("APP_EVENTS", ("sql", "memory"), "sql") == "sql"
    return enabled


def auto_create_enabled() -> bool:
    return env_flag("APP_AUTO_CREATE", True)
