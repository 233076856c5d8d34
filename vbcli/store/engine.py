"""Opening a ledger: checks that refuse foreign or newer files untouched, engines, transactions."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from vbcli import faults
from vbcli.config import Location, env_choice, env_flag
from vbcli.errors import DatabaseUnavailable, VbError
from vbcli.store.tables import APP_MARKER, SCHEMA_REVISION

T = TypeVar("T")

SQLITE_HEADER = b"SQLite format 3\x00"
KNOWN_REVISIONS = ("0001",)  # oldest first; the last is SCHEMA_REVISION
PG_RETRYABLE = ("40001", "40P01")  # serialization failure, deadlock


def busy_timeout_seconds() -> float:
    raw = os.environ.get("VB_BUSY_TIMEOUT", "30")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 30.0


@dataclass
class SchemaState:
    revision: str | None  # None: no vb schema yet (a new or empty database)


def inspect_sqlite_file(location: Location) -> SchemaState:
    """Look at an existing SQLite file read-only and refuse anything that is not a vb ledger."""
    path = location.path
    assert path is not None
    if not path.exists():
        return SchemaState(revision=None)
    if path.is_dir():
        raise DatabaseUnavailable(f"{path} is a directory, not a vb ledger file.")
    try:
        with open(path, "rb") as handle:
            header = handle.read(16)
    except OSError as exc:
        raise DatabaseUnavailable(f"Cannot read the ledger {path}: {exc.strerror}.") from None
    if header != SQLITE_HEADER:
        what = "empty" if not header else "not a SQLite database"
        raise DatabaseUnavailable(f"{path} is {what}, so it is not a vb ledger; it was left untouched.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=busy_timeout_seconds())
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
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnavailable(f"{path} is corrupt or not a vb ledger ({exc}); it was left untouched.") from None
    return SchemaState(revision=revision[0] if revision else None)


def check_revision(state: SchemaState, location: Location) -> None:
    if state.revision is not None and state.revision not in KNOWN_REVISIONS:
        raise DatabaseUnavailable(
            f"The ledger {location.display} was written by a newer vb (schema {state.revision}); upgrade vb to use it."
        )


def make_engine(location: Location) -> Engine:
    """An engine with the pragmas, timeouts and transaction start that vb's guarantees need."""
    if location.engine == "postgresql":
        engine = create_engine(
            location.url,
            connect_args={"connect_timeout": int(os.environ.get("VB_CONNECT_TIMEOUT", "5"))},
            poolclass=StaticPool if location.source == "memory" else None,
        )
        return engine
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
        write = conn.get_execution_options().get("vb_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def translate_db_error(exc: BaseException, location: Location) -> DatabaseUnavailable | None:
    """Turn a driver error that means "database unavailable" into the user's sentence."""
    message = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(getattr(exc, "orig", exc)).strip() else ""
    lowered = message.lower()
    where = location.display
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
    if location.engine == "postgresql" and isinstance(exc, (OperationalError, DBAPIError)):
        from vbcli.config import mask_password

        detail = mask_password(message)
        return DatabaseUnavailable(f"Cannot use the PostgreSQL ledger {where}: {detail}.")
    return None


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
                    transaction.rollback()
                raise
            except BaseException:
                session.close()
                transaction.rollback()
                raise
            session.close()
            faults.point("before_commit")
            transaction.commit()


def warn(message: str) -> None:
    print(f"vb: warning: {message}", file=sys.stderr)


def events_enabled() -> bool:
    enabled = env_choice("APP_EVENTS", ("sql", "memory"), "sql") == "sql"
    return enabled


def auto_create_enabled() -> bool:
    return env_flag("APP_AUTO_CREATE", True)
