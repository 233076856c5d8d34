"""Transactions: one per command, writers holding the write lock, commits shielded from signals,
PostgreSQL serialization failures retried."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from vbcli import faults
from vbcli.config import Location
from vbcli.errors import DatabaseUnavailable, VbError
from vbcli.store import stamps
from vbcli.store.dberrors import PG_RETRYABLE, pg_sqlstate
from vbcli.store.settings import busy_timeout_seconds

T = TypeVar("T")
ANALYZED_TABLES = ("positions", "orders", "trades", "cash_flows", "dividends", "events")
committed_writes = 0  # write transactions committed by this process (for the interrupt message)


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
    """One transaction. Writers hold the ledger's write lock from the first statement; readers
    on PostgreSQL see one snapshot (REPEATABLE READ READ ONLY), so a check or an export
    describes one instant however many writers run."""
    with engine.connect() as conn:
        conn.execution_options(vb_write=write)
        with conn.begin() as transaction:
            session = Session(bind=conn, expire_on_commit=False, autoflush=True)
            session.info["vb_events"] = events
            session.info["vb_dialect"] = engine.dialect.name
            try:
                if engine.dialect.name == "postgresql" and not write:
                    conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                if write and engine.dialect.name == "postgresql":
                    set_pg_lock_timeout(conn)
                    # The head row is PostgreSQL's ledger-wide write lock: writers queue here.
                    session.exec(text("SELECT id FROM ledger_head WHERE id = 1 FOR UPDATE"))  # type: ignore[call-overload]
                started = stamps.begin_write(conn) if write else 0
                yield session
                session.flush()
                if write and not events:
                    stamps.mark_unaudited(conn, started)
            except VbError as error:
                # A refusal that keeps its record (order_rejected) commits what it wrote.
                if error.commit and not session.info.get("vb_dry_run"):
                    session.flush()
                    session.close()
                    same_file(conn)
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
            if write:
                same_file(conn)
            _commit(transaction, write)
    if write and session.info.get("vb_bulk") and engine.dialect.name == "postgresql":
        analyze(engine)


def analyze(engine: Engine) -> None:
    """Fresh planner statistics after a bulk write (servers without autovacuum keep none)."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ANALYZED_TABLES:
            conn.exec_driver_sql(f"ANALYZE {table}")


def same_file(conn: Connection) -> None:
    """Refuse to commit into a ledger file that was deleted or replaced since it was opened:
    the change would land in a file nobody will open again."""
    opened = conn.info.get("vb_file")
    if opened is None:
        return
    path, device, inode = opened
    try:
        now = os.stat(path)
    except OSError:
        now = None
    if now is None or (now.st_dev, now.st_ino) != (device, inode):
        raise DatabaseUnavailable(f"The ledger {path} was removed or replaced while vb was writing; nothing was written.")


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
