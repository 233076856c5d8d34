"""Copies of the ledger: `vb db backup` (SQLite online backup) and `vb import all` (restore an
`export all` document into an empty ledger, exactly: ids, times, decimals, the hash chain).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Date, delete, func, insert, select
from sqlmodel import Session

from vbcli.config import Location, data_dir
from vbcli.domain.timeparse import utcnow
from vbcli.errors import BadInputData, Conflict, NotFound, problem
from vbcli.services.io.destination import check_target
from vbcli.services.io.source import ALL_TABLES, EXPORT_VERSION
from vbcli.store.files import copy_sqlite
from vbcli.store.columns import ExactDecimal, UTCDateTime
from vbcli.store.tables import SCHEMA_REVISION, LedgerHead, Portfolio


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
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        copy_sqlite(location.path, Path(temp_name))
        os.link(temp_name, target)  # fails rather than replace a file created meanwhile
    except FileExistsError:
        raise Conflict(f"{target} already exists; vb db backup never overwrites a file.") from None
    finally:
        Path(temp_name).unlink(missing_ok=True)
    return {"path": str(target), "size_bytes": target.stat().st_size}


# ---- restore: `vb import all` ------------------------------------------------------------------

def _is_empty(session: Session) -> bool:
    for _name, model, _order in ALL_TABLES:
        count = session.execute(select(func.count()).select_from(model.__table__)).scalar_one()
        if model is Portfolio:
            names = session.execute(select(Portfolio.name)).scalars().all()
            if names not in ([], ["default"]):
                return False
        elif count:
            return False
    head = session.get(LedgerHead, 1)
    return head is None or head.event_count == 0


def _converter(column: Any) -> Any:
    if isinstance(column.type, ExactDecimal):
        return lambda v: None if v is None else Decimal(str(v))
    if isinstance(column.type, UTCDateTime):
        return lambda v: None if v is None else datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    if isinstance(column.type, Date):
        return lambda v: None if v is None else date.fromisoformat(str(v))
    return lambda v: v


def _rows(document: dict[str, Any], name: str, model: Any, source: str) -> list[dict[str, Any]]:
    rows = document.get(name)
    if not isinstance(rows, list):
        raise BadInputData(f"{source} has no {name} list.", details=[problem(source, 1, f"missing the {name} list")])
    columns = {column.name: _converter(column) for column in model.__table__.columns}
    converted = []
    for index, row in enumerate(rows, 1):
        try:
            if not isinstance(row, dict) or set(row) != set(columns):
                raise ValueError("its fields are not the table's columns")
            converted.append({key: convert(row[key]) for key, convert in columns.items()})
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise BadInputData(f"{source} is not a valid vb export.", details=[problem(source, 1, f"{name} row {index}: {exc}")]) from None
    return converted


def load_document(source: str, text: str) -> dict[str, Any]:
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise BadInputData(f"{source} is not valid JSON.", details=[problem(source, exc.lineno, exc.msg)]) from None
    if not isinstance(document, dict) or document.get("vb_export") != EXPORT_VERSION:
        raise BadInputData(f"{source} is not a `vb export all` document.", details=[problem(source, 1, "no vb_export version 1")])
    if document.get("schema_revision") != SCHEMA_REVISION:
        raise BadInputData(f"{source} was written with schema {document.get('schema_revision')!r}; this vb reads {SCHEMA_REVISION}.",
                           details=[problem(source, 1, "schema revision differs")])
    return document


def import_all(session: Session, *, source: str, text: str) -> dict[str, Any]:
    """Load an `export all` document into an empty ledger; the audit chain is verified first."""
    from vbcli.services.upkeep.dbcheck import chain_problems

    document = load_document(source, text)
    tables = {name: _rows(document, name, model, source) for name, model, _order in ALL_TABLES}
    head = document.get("ledger_head") or {}
    broken = chain_problems((SimpleNamespace(**row) for row in tables["events"]), head.get("event_count"), head.get("last_hash"))
    if broken:
        raise BadInputData(f"The audit trail in {source} is damaged; nothing was imported.",
                           details=[problem(source, 1, str(p)) for p in broken])
    if not _is_empty(session):
        raise Conflict("vb import all needs an empty ledger (only the default portfolio); this one has data. Use a new --db.")
    session.execute(delete(Portfolio.__table__))  # the fresh ledger's own default portfolio
    for name, model, _order in ALL_TABLES:
        if tables[name]:
            session.execute(insert(model.__table__), tables[name])
    row = session.get(LedgerHead, 1)
    assert row is not None
    row.event_count, row.last_hash = head.get("event_count", 0), head.get("last_hash", "")
    session.add(row)
    return {"file": source, **{name: len(rows) for name, rows in tables.items()}}
