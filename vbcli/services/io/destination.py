"""Where an export goes: stdout, or a file replaced atomically."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vbcli.errors import Conflict, NotFound, UsageError
from vbcli.services.io.source import Sink


def check_target(target: Path, ledger_path: Path | None) -> Path:
    """Refuse a destination that is a symlink, a directory or the ledger itself (exit 4)."""
    if target.is_symlink():
        raise Conflict(f"{target} is a symbolic link; vb does not write through links. Give the real path.")
    if target.is_dir():
        raise Conflict(f"{target} is a directory; give a file name.")
    parent = target.parent
    if not parent.is_dir():
        raise NotFound(f"The directory {parent} does not exist.")
    resolved = parent.resolve() / target.name
    if ledger_path is not None:
        ledger = ledger_path.resolve()
        same = target.exists() and ledger.exists() and os.path.samefile(target, ledger)
        if same or resolved in (ledger, ledger.with_name(ledger.name + "-wal"), ledger.with_name(ledger.name + "-shm")):
            raise Conflict(f"{target} is the ledger itself; choose another file for the export.")
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
    file is removed and the old file stays as it was.
    """
    if out_path is None or out_path == "-":
        yield Sink(sys.stdout)
        sys.stdout.flush()
        return
    if not out_path.strip():
        raise UsageError("--out needs a file name, or - for stdout.")
    target = check_target(Path(out_path).expanduser().absolute(), ledger_path)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o600
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield Sink(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
        _fsync_dir(target.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
