"""A Ledger: an opened, schema-checked database with read and write transactions."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from vbcli.config import TYPED_PASSWORD_WARNING, Location
from vbcli.errors import DatabaseUnavailable, NotFound
from vbcli.store import dberrors, inspect, settings, transaction
from vbcli.store.engine import make_engine
from vbcli.store.files import backup_before_upgrade, prepare_new_sqlite_file, remove_stale_temps
from vbcli.store.migrate import current_revision, upgrade_to_head
from vbcli.store.tables import SCHEMA_REVISION

T = TypeVar("T")


class Ledger:
    """An open ledger. `read()` and `write()` each give one transaction."""

    def __init__(self, location: Location, engine: Engine, events: bool) -> None:
        self.location = location
        self.engine = engine
        self.events = events

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._translated():
            with transaction.session_scope(self.engine, write=False, events=self.events) as session:
                yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction (retried whole on PostgreSQL conflicts)."""

        def attempt() -> T:
            with transaction.session_scope(self.engine, write=True, events=self.events) as session:
                return work(session)

        with self._translated():
            return transaction.run_with_retries(attempt, self.location)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (DBAPIError, SQLAlchemyError, sqlite3.Error) as exc:
            translated = dberrors.translate_db_error(exc, self.location)
            if translated is None:
                raise
            raise translated from exc

    def close(self) -> None:
        self.engine.dispose()


def open_ledger(location: Location, *, create: bool | None = None, upgrade: bool | None = None,
                warn: Callable[[str], None] = lambda message: None, access: str = "write") -> Ledger:
    """Open (and if allowed create or upgrade) the ledger at `location`; `warn` hears what the user must know.

    `access` is "read" for a reading command: an explicit ledger that does not exist is then
    exit 3 rather than created, and a ledger in a read-only directory opens read-only.
    """
    settings.busy_timeout_seconds()  # settings are checked before anything is touched
    auto = settings.auto_create_enabled()
    create = auto if create is None else create
    upgrade = auto if upgrade is None else upgrade
    events = settings.events_enabled()
    if location.source == "memory":
        warn("APP_PERSISTENCE=memory: this ledger lives in memory and is gone when vb exits.")
    if not events:
        warn("APP_EVENTS=memory: audit events are not kept.")
    if location.typed_password:
        warn(TYPED_PASSWORD_WARNING)

    state, mode = inspect.SchemaState(revision=None), "rw"
    if location.engine == "sqlite" and location.path is not None:
        state, mode = _prepare_sqlite(location, create=create, access=access, warn=warn)
    engine = make_engine(location, sqlite_mode=mode)
    ledger = Ledger(location, engine, events)
    try:
        with ledger._translated():
            _ensure_schema(ledger, state, create=create, upgrade=upgrade)
    except BaseException:
        engine.dispose()
        raise
    return ledger


def _prepare_sqlite(location: Location, *, create: bool, access: str,
                    warn: Callable[[str], None]) -> tuple[inspect.SchemaState, str]:
    """Check the file before any engine touches it; create a missing one only where allowed.

    Returns its schema state and how to open it: "rw", or for a reading command in a
    directory vb cannot write, "ro" (another process's -wal is there) or "immutable".
    """
    path = location.path
    assert path is not None
    explicit = location.source != "default"
    existed = path.exists()
    if not existed and explicit and access == "read":
        raise NotFound(f"There is no ledger at {path}; check --db or SQL_URL (a writing command creates it).")
    if not existed and explicit and not path.parent.is_dir():
        raise NotFound(f"The directory {path.parent} does not exist; vb creates no directories for a ledger given with --db or SQL_URL.")
    state = inspect.inspect_sqlite_file(location)
    inspect.check_revision(state, location)
    remove_stale_temps(path.parent, f".{path.name}.", ".new")
    if state.revision is None and not create:
        raise _needs_upgrade(location)
    writable = os.access(path.parent, os.W_OK) and (not existed or os.access(path, os.W_OK))
    if not writable and existed and state.revision is not None:
        if access != "read":
            raise DatabaseUnavailable(f"The ledger {path} is read-only; nothing was written.")
        wal = path.with_name(path.name + "-wal").exists()
        return state, "ro" if wal or os.access(path.parent, os.W_OK) else "immutable"
    if state.revision is None:
        prepare_new_sqlite_file(location, make_dirs=not explicit)
        if not existed and explicit:
            warn(f"created a new ledger at {path}.")
    return state, "rw"


def _needs_upgrade(location: Location) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"The ledger {location.display} has no vb schema and APP_AUTO_CREATE is false; run `vb db upgrade` first."
    )


def _ensure_schema(ledger: Ledger, known: inspect.SchemaState, *, create: bool, upgrade: bool) -> None:
    if known.revision == SCHEMA_REVISION:
        return  # the common case: checked read-only without SQLAlchemy work
    with ledger.engine.connect() as probe:
        revision = current_revision(probe)
        if ledger.location.engine == "postgresql":
            inspect.check_revision(inspect.SchemaState(revision), ledger.location)
            _refuse_foreign_postgres(probe, revision, ledger.location)
    if revision == SCHEMA_REVISION:
        return
    if revision is None and not create or revision is not None and not upgrade:
        raise _needs_upgrade(ledger.location)
    if revision is not None and ledger.location.path is not None:
        backup_before_upgrade(ledger.location, revision)
    with ledger.engine.connect() as conn:
        conn.execution_options(vb_write=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                transaction.set_pg_lock_timeout(conn)
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7242001)")
            if current_revision(conn) != SCHEMA_REVISION:  # another process may have won
                upgrade_to_head(conn)


def _refuse_foreign_postgres(conn, revision: str | None, location: Location) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    if revision is not None:
        return
    tables = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")).scalar()
    if tables:
        raise DatabaseUnavailable(
            f"The PostgreSQL database {location.display} holds other tables but no vb ledger; it was left untouched."
        )
