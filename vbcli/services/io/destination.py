"""Where an export goes: stdout, or a regular file replaced atomically."""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vbcli.errors import Conflict, DatabaseUnavailable, NotFound, UsageError
from vbcli.services.io.source import Sink
from vbcli.store.files import remove_stale_temps, temp_name

DISK_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO}
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")  # SQLite creates and deletes these beside the ledger
STDOUT_NAMES = ("-", "/dev/stdout")


def is_disk_full(exc: BaseException) -> bool:
    """A full disk, a quota or file-size limit, or a failing disk (OSError or SQLite's words)."""
    if isinstance(exc, OSError):
        return exc.errno in DISK_ERRNOS
    text = str(exc).lower()
    return "disk is full" in text or "disk i/o error" in text


def check_target(target: Path, ledger_path: Path | None) -> Path:
    """Refuse a destination that is a link, a directory, a FIFO or device, or the ledger or one
    of the files SQLite keeps beside it (exit 4); a missing directory is exit 3, never created."""
    if target.is_symlink():
        raise Conflict(f"{target} is a symbolic link; vb does not write through links. Give the real path.")
    if target.is_dir():
        raise Conflict(f"{target} is a directory; give a file name.")
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        raise Conflict(f"{target} is a FIFO, socket or device, not a regular file; give a file name, or - for stdout.")
    parent = target.parent
    if not parent.is_dir():
        raise NotFound(f"The directory {parent} does not exist; vb creates no directories for --out.")
    resolved = parent.resolve() / target.name
    if ledger_path is not None:
        ledger = ledger_path.resolve()
        same = target.exists() and ledger.exists() and os.path.samefile(target, ledger)
        if same or resolved == ledger:
            raise Conflict(f"{target} is the ledger itself; choose another file for the export.")
        if resolved in (ledger.with_name(ledger.name + side) for side in SQLITE_SIDE_FILES):
            raise Conflict(f"{target} is a file SQLite keeps beside the ledger; choose another file for the export.")
    return resolved


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def destination(out_path: str | None, ledger_path: Path | None) -> Iterator[Sink]:
    """stdout for None or `-`; else a temp file in the target's directory, renamed when complete.

    A reader sees the old file or the whole new one; on any error or interruption the temp
    file is removed and the old file stays as it was. A full disk is exit 6.
    """
    if out_path is None or out_path in STDOUT_NAMES:
        yield Sink(sys.stdout)  # a full disk behind stdout is the command wrapper's (cli/common.py)
        sys.stdout.flush()
        return
    if not out_path.strip():
        raise UsageError("--out needs a file name, or - for stdout.")
    target = check_target(Path(out_path).expanduser().absolute(), ledger_path)
    remove_stale_temps(target.parent, f".{target.name}.", ".tmp")
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o600
    temp = target.with_name(temp_name(target.name, ".tmp"))
    try:
        with open(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "w", encoding="utf-8", newline="") as handle:
            yield Sink(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and is_disk_full(exc):
            raise DatabaseUnavailable(f"The disk holding {target} is full or failing; nothing was written.") from None
        raise
