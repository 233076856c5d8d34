"""SQLite files on disk: creating a new ledger file safely, and consistent copies of one."""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

from vbcli.config import Location
from vbcli.errors import DatabaseUnavailable
from vbcli.store.inspect import SQLITE_HEADER
from vbcli.store.settings import busy_timeout_seconds

STALE_SECONDS = 60


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


def prepare_new_sqlite_file(location: Location, *, make_dirs: bool = True) -> None:
    """Create the file (0600) and, for the default ledger, any missing directories (0700)."""
    path = location.path
    assert path is not None
    missing = []
    parent = path.parent
    while make_dirs and not parent.exists():
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
    staging = path.with_name(temp_name(path.name, ".new"))
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
        remove_with_journals(staging)


def temp_name(name: str, suffix: str) -> str:
    """vb's name for a temporary file beside `name`: hidden, with the writer's pid, so a later
    run can tell a dead writer's leftovers (see remove_stale_temps)."""
    return f".{name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def remove_stale_temps(directory: Path, prefix: str, suffix: str) -> list[Path]:
    """Remove temporary files of vb's naming whose writer is gone (killed exports, backups,
    ledger creations), with the journals SQLite left beside them; returns what was removed.

    A file counts as stale when its pid is not running here and it is older than a minute
    (a shared directory may hold another machine's file in progress).
    """
    removed = []
    pattern = re.compile(re.escape(prefix) + r"(\d+)-[0-9a-f]{8}" + re.escape(suffix) + r"(-journal|-wal|-shm)?$")
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or _alive(int(match.group(1))):
            continue
        try:
            if time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_with_journals(path: Path) -> None:
    """Remove a temporary SQLite file and whatever SQLite created beside it."""
    for name in (path.name, path.name + "-journal", path.name + "-wal", path.name + "-shm"):
        try:
            os.unlink(path.with_name(name))
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
        remove_with_journals(target)
        raise DatabaseUnavailable(f"Cannot back up {path} before upgrading it ({exc}); nothing was changed.") from None
    return target
