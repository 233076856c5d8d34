"""A Ledger: an opened, schema-checked database with read and write transactions."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from vbcli.config import Location
from vbcli.errors import DatabaseUnavailable
from vbcli.store import engine as eng
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
            with eng.session_scope(self.engine, write=False, events=self.events) as session:
                yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction (retried whole on PostgreSQL conflicts)."""

        def attempt() -> T:
            with eng.session_scope(self.engine, write=True, events=self.events) as session:
                return work(session)

        with self._translated():
            return eng.run_with_retries(attempt, self.location)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (DBAPIError, SQLAlchemyError, sqlite3.Error) as exc:
            translated = eng.translate_db_error(exc, self.location)
            if translated is None:
                raise
            raise translated from exc

    def close(self) -> None:
        self.engine.dispose()


def open_ledger(location: Location, *, create: bool | None = None, upgrade: bool | None = None) -> Ledger:
    """Open (and if allowed create or upgrade) the ledger at `location`."""
    eng.busy_timeout_seconds()  # settings are checked before anything is touched
    auto = eng.auto_create_enabled()
    create = auto if create is None else create
    upgrade = auto if upgrade is None else upgrade
    events = eng.events_enabled()
    if location.source == "memory":
        eng.warn("APP_PERSISTENCE=memory: this ledger lives in memory and is gone when vb exits.")
    if not events:
        eng.warn("APP_EVENTS=memory: audit events are not kept.")

    state = eng.SchemaState(revision=None)
    if location.engine == "sqlite" and location.path is not None:
        state = eng.inspect_sqlite_file(location)
        eng.check_revision(state, location)
        if state.revision is None and not create:
            raise _needs_upgrade(location)
        if state.revision is None:
            _prepare_new_sqlite_file(location)
    engine = eng.make_engine(location)
    ledger = Ledger(location, engine, events)
    try:
        with ledger._translated():
            _ensure_schema(ledger, state, create=create, upgrade=upgrade)
    except BaseException:
        engine.dispose()
        raise
    return ledger


def _needs_upgrade(location: Location) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"The ledger {location.display} has no vb schema and APP_AUTO_CREATE is false; run `vb db upgrade` first."
    )


def _ensure_schema(ledger: Ledger, known: eng.SchemaState, *, create: bool, upgrade: bool) -> None:
    if known.revision == SCHEMA_REVISION:
        return  # the common case: checked read-only without SQLAlchemy work
    with ledger.engine.connect() as probe:
        revision = current_revision(probe)
        if ledger.location.engine == "postgresql":
            eng.check_revision(eng.SchemaState(revision), ledger.location)
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
                eng.set_pg_lock_timeout(conn)
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


def _prepare_new_sqlite_file(location: Location) -> None:
    """Create the file and any missing directories private to the user (0600 in 0700)."""
    path = location.path
    assert path is not None
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise DatabaseUnavailable(f"Cannot create the directory {directory}: {exc.strerror}.") from None
        os.chmod(directory, 0o700)
    if path.exists():
        return  # an existing SQLite file without a vb schema yet (e.g. a first run that was killed)
    # Built aside and linked into place, so a crash never leaves an empty file that vb would
    # then refuse as "not a vb ledger". WAL lets readers work while a writer commits.
    staging = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        fd = os.open(staging, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        conn = sqlite3.connect(staging)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        with open(staging, "rb") as handle:
            if handle.read(16) != eng.SQLITE_HEADER:  # SQLite may not report a short write here
                raise DatabaseUnavailable(f"The disk holding {path} is full or failing; nothing was written.")
        os.link(staging, path)
    except FileExistsError:
        pass  # another vb process created it first; its migration lock orders us
    except (OSError, sqlite3.Error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DatabaseUnavailable(f"Cannot create the ledger {path}: {reason}.") from None
    finally:
        try:
            os.unlink(staging)
        except OSError:
            pass


def backup_before_upgrade(location: Location, revision: str) -> Path:
    """Copy a SQLite ledger aside before migrating it (`FILE.pre-REV-TIMESTAMP[-N].bak`, 0600)."""
    path = location.path
    assert path is not None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(100):  # two upgrades in one second each get their own copy
        suffix = f"-{attempt}" if attempt else ""
        target = path.with_name(f"{path.name}.pre-{revision}-{stamp}{suffix}.bak")
        try:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise DatabaseUnavailable(f"Cannot back up {path} before upgrading it ({exc.strerror}); nothing was changed.") from None
    else:
        raise DatabaseUnavailable(f"Cannot find a free backup name next to {path}; nothing was changed.")
    try:
        source = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
        try:
            dest = sqlite3.connect(target)
            try:
                source.backup(dest)
            finally:
                dest.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise DatabaseUnavailable(f"Cannot back up {path} before upgrading it ({exc}); nothing was changed.") from None
    return target
