"""`vb import all`: restore an `export all` document into an empty ledger, exactly (ids, times,
decimals, the hash chain), or refuse it whole.

Nothing in the file is trusted: every value is checked against its column (restore_values),
the audit chain is verified, and after the rows are inserted the full ledger check (`vb db
check`, events against rows included) runs inside the same transaction; any problem is exit 7
`FILE: path.to.field: message` and the transaction is rolled back.
"""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session

from vbcli.errors import BadInputData, Conflict
from vbcli.services.io.restore_values import Problems, check_keys, check_rows
from vbcli.services.io.source import ALL_TABLES, EXPORT_VERSION
from vbcli.store.tables import SCHEMA_REVISION, LedgerHead, Portfolio


def _refuse(source: str, summary: str, problems: list[str]) -> BadInputData:
    return BadInputData(f"{source} {summary}; nothing was imported.", details=[f"{source}: {p}" for p in problems])


def load_document(source: str, text_: str) -> dict[str, Any]:
    """The parsed document, refused (exit 7) unless it is a `vb export all` of this schema."""
    try:
        document = json.loads(text_, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise BadInputData(f"{source} is not valid JSON.", details=[f"{source}:{exc.lineno}: {exc.msg}"]) from None
    except RecursionError:
        raise _refuse(source, "is not a vb export", ["(document): nested too deeply to be a vb export"]) from None
    if not isinstance(document, dict) or document.get("vb_export") != EXPORT_VERSION:
        raise _refuse(source, "is not a `vb export all` document", ["vb_export: must be 1"])
    if document.get("schema_revision") != SCHEMA_REVISION:
        raise _refuse(source, f"was written with schema {str(document.get('schema_revision'))[:20]!r}; this vb reads {SCHEMA_REVISION}",
                      ["schema_revision: differs"])
    return document


def _head(document: dict[str, Any], problems: Problems) -> tuple[int, str]:
    head = document.get("ledger_head")
    if not isinstance(head, dict):
        problems.add("ledger_head", "must be an object with event_count and last_hash")
        return 0, ""
    count, last = head.get("event_count"), head.get("last_hash")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        problems.add("ledger_head.event_count", "must be a whole number, 0 or more")
    if not isinstance(last, str):
        problems.add("ledger_head.last_hash", "must be text")
    return (count if isinstance(count, int) else 0), (last if isinstance(last, str) else "")


def validate(document: dict[str, Any]) -> tuple[dict[str, list[dict[str, Any]]], tuple[int, str], list[str]]:
    """Every table's rows converted, the head, and every problem of the document (pure)."""
    from vbcli.services.upkeep.dbcheck import chain_problems

    problems = Problems()
    metadata = {name: model.__table__ for name, model, _order in ALL_TABLES}
    tables = {name: check_rows(name, metadata[name], document.get(name), problems) for name in metadata}
    head = _head(document, problems)
    if problems:
        return tables, head, problems
    check_keys(tables, metadata, problems)
    for index, row in enumerate(tables["events"]):
        try:
            if not isinstance(json.loads(row["data"]), dict):
                raise ValueError
        except (ValueError, RecursionError):
            problems.add(f"events[{index}].data", "must be a JSON object")
    if not problems:
        events = sorted(tables["events"], key=lambda row: row["seq"])
        for found in chain_problems((SimpleNamespace(**row) for row in events), *head):
            problems.add("events", str(found))
    return tables, head, problems


def _is_empty(session: Session) -> bool:
    for _name, model, _order in ALL_TABLES:
        if model is Portfolio:
            names = session.execute(select(Portfolio.name)).scalars().all()
            if names not in ([], ["default"]):
                return False
        elif session.execute(select(func.count()).select_from(model.__table__)).scalar_one():
            return False
    head = session.get(LedgerHead, 1)
    return head is None or head.event_count == 0


def import_all(session: Session, *, source: str, text: str) -> dict[str, Any]:
    """Load an `export all` document into an empty ledger; refuse it whole on any problem."""
    document = load_document(source, text)
    tables, (event_count, last_hash), problems = validate(document)
    if problems:
        raise _refuse(source, f"has {len(problems)}{'+' if problems.full else ''} problem(s)", problems)  # type: ignore[attr-defined]
    if not _is_empty(session):
        raise Conflict("vb import all needs an empty ledger (only the default portfolio); this one has data. Use a new --db.")
    session.execute(delete(Portfolio.__table__))  # the fresh ledger's own default portfolio
    for name, model, _order in ALL_TABLES:
        if tables[name]:
            session.execute(insert(model.__table__), tables[name])
    row = session.get(LedgerHead, 1)
    assert row is not None
    row.event_count, row.last_hash = event_count, last_hash
    session.add(row)
    session.flush()
    _check_restored(session, source)
    session.info["vb_bulk"] = True  # the store analyses the tables after the commit
    return {"file": source, **{name: len(rows) for name, rows in tables.items()}}


def _check_restored(session: Session, source: str) -> None:
    """The whole ledger check on what was just inserted, before anything is committed."""
    from vbcli.services.upkeep.dbcheck import check

    result = check(session)
    problems = result["problems"] if isinstance(result, dict) else list(getattr(result, "problems", []))
    if problems:
        raise _refuse(source, f"describes a ledger that fails `vb db check` ({len(problems)} problem(s))", [str(p) for p in problems])
