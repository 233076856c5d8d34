"""SQLite files on disk: creating a new ledger file safely, and consistent copies of one."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from vbcli.config import Location
from vbcli.errors import DatabaseUnavailable
from vbcli.store.inspect import SQLITE_HEADER
from vbcli.store.settings import busy_timeout_seconds


def copy_sqlite(source_path: Path, dest_path: Path) -> None:
    """A consistent, self-contained, fsynced copy of a SQLite file while others may write.

    The backup API copies every page in one step inside one read transaction, so the copy is
    the database as of one commit.
    """
    source = sqlite3.connect(source_path.absolute().as_uri() + "?mode=ro", uri=True, timeout=busy_timeout_seconds())
    try:
        dest = sqlite3.connect(dest_path)
        try:
            source.backup(dest)  # pages=-1: all pages in one step, one snapshot
            dest.execute("PRAGMA journal_mode = DELETE")  # a self-contained single file
            dest.commit()
        finally:
            dest.close()
    finally:
        source.close()
    fd = os.open(dest_path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prepare_new_sqlite_file(location: Location) -> None:
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
            if handle.read(16) != SQLITE_HEADER:  # SQLite may not report a short write here
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
        copy_sqlite(path, target)
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise DatabaseUnavailable(f"Cannot back up {path} before upgrading it ({exc}); nothing was changed.") from None
    return target
