"""Engines: the pragmas, timeouts and transaction start (BEGIN IMMEDIATE) that vb's guarantees need."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import QueuePool, StaticPool

from vbcli.config import Location
from vbcli.errors import UsageError
from vbcli.store.settings import busy_timeout_seconds, connect_timeout_seconds

SQLITE_LOCK_POLL_MS = 200  # one BEGIN IMMEDIATE attempt; Ctrl-C is honoured between attempts


def make_engine(location: Location, *, sqlite_mode: str = "rw") -> Engine:
    """An engine with the pragmas, timeouts and transaction start that vb's guarantees need.

    A SQLite ledger is opened by its path (`sqlite_mode` "rw", "ro" or "immutable"), never by
    parsing a URL, so "?", "%" and spaces in directory names are only file name characters.
    """
    if location.engine == "postgresql":
        try:
            make_url(location.url)
        except (ValueError, ArgumentError):
            raise UsageError(f"The database URL {location.display} is malformed; see `vb --help` for the form.") from None
        # A connection killed mid-pipeline makes psycopg log a warning before vb's own sentence.
        logging.getLogger("psycopg").addHandler(logging.NullHandler())
        logging.getLogger("psycopg").propagate = False
        return create_engine(location.url, connect_args={"connect_timeout": connect_timeout_seconds()})
    if location.source == "memory":
        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        assert location.path is not None
        engine = create_engine("sqlite://", creator=_sqlite_opener(location.path, sqlite_mode), poolclass=QueuePool)
    _install_sqlite_hooks(engine, location.path if location.source != "memory" else None)
    _share_compiled_sql(engine)
    return engine


_compiled_sql: tuple[Any, Any] | None = None  # the first SQLite engine's dialect and compiled-SQL cache


def _share_compiled_sql(engine: Engine) -> None:
    """Let every SQLite engine of this process reuse the SQL the first one compiled.

    SQLAlchemy caches compiled statements per engine, keyed by the dialect object, and
    compiling is most of a small command's work (about half of `vb trades add`). Every SQLite
    ledger speaks the same dialect (one sqlite3 library), so a later engine adopts the first
    one's dialect and cache once that dialect is initialised. The command server warms them
    before it forks, and each worker starts with the statements compiled.
    """
    global _compiled_sql
    if _compiled_sql is None:
        _compiled_sql = (engine.dialect, engine._compiled_cache)
        return
    dialect, cache = _compiled_sql
    if dialect.server_version_info is None:  # never connected: nothing to share yet
        return
    engine.dialect = dialect
    engine._compiled_cache = cache


def _sqlite_opener(path: Path, mode: str) -> Callable[[], sqlite3.Connection]:
    target, uri = str(path), False
    if mode != "rw":  # a URI only for read-only opening, with the path percent-encoded
        target, uri = f"file:{quote(str(path))}?mode=ro" + ("&immutable=1" if mode == "immutable" else ""), True

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(target, uri=uri, timeout=busy_timeout_seconds(), check_same_thread=False)

    return connect


def _install_sqlite_hooks(engine: Engine, path: Path | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        if path is not None:  # which file this connection opened: checked again before each commit
            try:
                opened = os.stat(path)
                record.info["vb_file"] = (path, opened.st_dev, opened.st_ino)
            except OSError:
                pass
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
