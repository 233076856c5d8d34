"""`vb db backup`: a consistent, self-contained copy of a SQLite ledger (restores: services/io/restore.py)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from vbcli.config import Location, data_dir
from vbcli.domain.timeparse import utcnow
from vbcli.errors import Conflict, DatabaseUnavailable, NotFound
from vbcli.services.io.destination import check_target, is_disk_full
from vbcli.store.files import copy_sqlite, remove_stale_temps, remove_with_journals, temp_name


def default_destination() -> Path:
    return data_dir() / "backups" / f"vb-{utcnow().strftime('%Y%m%dT%H%M%SZ')}.sqlite"


def backup(location: Location, dest: str | None) -> dict[str, Any]:
    """A consistent copy of a SQLite ledger while other vb processes write (0600, never overwrites).

    The sqlite3 backup API copies every page in one step inside one read transaction, so the
    copy is the ledger as of one commit. PostgreSQL ledgers are refused: pg_dump is the tool.
    """
    if location.engine == "postgresql":
        raise Conflict("vb db backup copies SQLite ledgers; for PostgreSQL use pg_dump, or `vb export all --format json`.")
    if location.path is None:
        raise Conflict("An in-memory ledger (APP_PERSISTENCE=memory) has nothing to back up.")
    if not location.path.is_file():
        raise NotFound(f"There is no ledger at {location.path} to back up.")
    target = Path(dest).expanduser().absolute() if dest else default_destination()
    if not dest:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif target.is_dir() and not target.is_symlink():
        target = target / default_destination().name
    target = check_target(target, location.path)
    if target.exists():
        raise Conflict(f"{target} already exists; vb db backup never overwrites a file.")
    remove_stale_temps(target.parent, f".{target.name}.", ".tmp")
    temp = target.with_name(temp_name(target.name, ".tmp"))
    try:
        os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        copy_sqlite(location.path, temp)
        os.link(temp, target)  # fails rather than replace a file created meanwhile
    except FileExistsError:
        raise Conflict(f"{target} already exists; vb db backup never overwrites a file.") from None
    except (OSError, sqlite3.Error) as exc:
        if not is_disk_full(exc):
            raise
        raise DatabaseUnavailable(f"The disk holding {target} is full or failing; no backup was written.") from None
    finally:
        remove_with_journals(temp)
    return {"path": str(target), "size_bytes": target.stat().st_size}
