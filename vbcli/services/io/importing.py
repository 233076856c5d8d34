"""Imports (SPEC §5): `import trades` (past fills, in bulk, all-or-nothing, keyed rows
idempotent) and `import all` (an `export all` document into an empty ledger, exactly).

Every bad row is reported as `FILE:LINE: message` (exit 7) and nothing is written. This is
the reading half; the parsed fills go to services/io/import_writer (the write half: the one
fill path of `vb trades add`, one re-derivation per touched position, executemany inserts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from vbcli import nogc
from vbcli.domain.timeparse import utcnow
from vbcli.domain.words import did_you_mean
from vbcli.errors import BadInputData, Conflict, UsageError, VbError, problem
from vbcli.services.io.import_writer import FillBatch
from vbcli.services.io.fills import Fill, parse_fill
from vbcli.services.shared.refs import currency_of, open_position
from vbcli.store.tables import IdempotencyKey, Position, Trade

INPUT_FORMATS = ("csv", "json", "ndjson")
Progress = Callable[[int], None]
CHUNK = 5000  # fills checked, applied and inserted together: memory stays flat however long the file
KEYS_PER_QUERY = 5000  # a chunk's keys looked up at once (SQLite allows 32 766 parameters, PostgreSQL 65 535)


def input_format(path: str, chosen: str | None) -> str:
    """--format, else by the file's extension, csv for stdin."""
    if chosen:
        fmt_ = chosen.strip().lower()
        if fmt_ not in INPUT_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(INPUT_FORMATS)}, not {chosen[:20]!r}{did_you_mean(fmt_, INPUT_FORMATS)}.")
        return fmt_
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"json": "json", "ndjson": "ndjson", "jsonl": "ndjson"}.get(suffix, "csv")


# ---- trades -----------------------------------------------------------------------------------

def _same(trade: Trade, position_id: str, fill: Fill) -> bool:
    return (trade.position_id == position_id and trade.side == fill.side and trade.qty == fill.qty and trade.price == fill.price
            and (fill.commission is None or trade.commission == fill.commission)
            and (fill.at is None or trade.executed_at == fill.at))


def _existing(session: Session, keys: set[str]) -> tuple[dict[str, Trade], dict[str, IdempotencyKey]]:
    trades: dict[str, Trade] = {}
    seen: dict[str, IdempotencyKey] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), KEYS_PER_QUERY):
        part = ordered[start:start + KEYS_PER_QUERY]
        trades.update({t.key: t for t in session.exec(select(Trade).where(Trade.key.in_(part)))})  # type: ignore[union-attr, misc]
        seen.update({k.key: k for k in session.exec(select(IdempotencyKey).where(IdempotencyKey.key.in_(part)))})  # type: ignore[attr-defined, misc]
    return trades, seen


class _Resolver:
    """Position references resolved once each; closed positions refused."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[str, Position | VbError] = {}
        self.currencies: dict[str, str] = {}

    def __call__(self, ref: str) -> Position:
        if ref not in self.cache:
            try:
                self.cache[ref] = open_position(self.session, ref)
            except VbError as error:
                self.cache[ref] = error
        found = self.cache[ref]
        if isinstance(found, VbError):
            raise found
        return found

    def currency(self, position: Position) -> str:
        if position.portfolio_id not in self.currencies:
            self.currencies[position.portfolio_id] = currency_of(self.session, position)
        return self.currencies[position.portfolio_id]


class _Run:
    """One import: the problems found so far, the keys seen in the file, the rows to write."""

    def __init__(self, session: Session, progress: Progress | None) -> None:
        self.session, self.progress = session, progress
        self.problems: list[tuple[int, str]] = []
        self.conflicts: list[tuple[int, str]] = []
        self.in_file: dict[str, Fill] = {}
        self.resolve, self.batch, self.now = _Resolver(session), FillBatch(session), utcnow()
        self.rows = self.fills = 0

    def chunk(self, chunk: list[tuple[int, dict[str, str]]]) -> None:
        fills: list[Fill] = []
        for line, row in chunk:
            self.rows += 1
            try:
                fill = parse_fill(line, row)
            except UsageError as error:
                self.problems.append((line, error.message.rstrip(".")))
                continue
            if fill is not None:
                fills.append(fill)
        existing, used = _existing(self.session, {f.key for f in fills if f.key and f.key not in self.in_file})
        for fill in fills:
            self.fills += 1
            if self.progress and self.fills % 500 == 0:
                self.progress(500)
            try:
                self.one(fill, existing, used)
            except VbError as error:
                self.problems.append((fill.line, error.message.rstrip(".")))
        self.problems += self.batch.flush(self.session, self.now, write=not (self.problems or self.conflicts))

    def one(self, fill: Fill, existing: dict[str, Trade], used: dict[str, IdempotencyKey]) -> None:
        position = self.resolve(fill.ref)
        if fill.key and fill.key in self.in_file:
            first = self.in_file[fill.key]
            if (first.ref, first.side, first.qty, first.price, first.commission, first.at) != (
                    fill.ref, fill.side, fill.qty, fill.price, fill.commission, fill.at):
                raise UsageError(f"key {fill.key!r} is used on line {first.line} for a different fill")
            return
        if fill.key and (fill.key in existing or fill.key in used):
            trade = existing.get(fill.key)
            if trade is None or not _same(trade, position.id, fill):
                self.conflicts.append((fill.line, f"key {fill.key!r} was already used for a different request"))
            return
        if fill.key:
            self.in_file[fill.key] = fill
        self.batch.add(position, fill, self.resolve.currency(position))


def _chunks(rows: Iterator[tuple[int, dict[str, str]]]) -> Iterator[list[tuple[int, dict[str, str]]]]:
    chunk: list[tuple[int, dict[str, str]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_trades(session: Session, *, source: str, rows: Iterable[tuple[int, dict[str, str]]],
                  progress: Progress | None = None) -> dict[str, Any]:
    """Record every fill of `rows` (the reader's rows of schemas.TRADES) in this transaction, or
    none (exit 7 with every problem).

    Rows are checked, applied and inserted CHUNK at a time, so memory stays flat; any problem
    anywhere raises, which rolls back the chunks already inserted.
    """
    with nogc.paused():  # every fill becomes a few objects kept to the end, and none forms a cycle
        return _import_trades(session, source, rows, progress)


def _import_trades(session: Session, source: str, rows: Iterable[tuple[int, dict[str, str]]],
                   progress: Progress | None) -> dict[str, Any]:
    run = _Run(session, progress)
    for chunk in _chunks(iter(rows)):
        run.chunk(chunk)
    if run.problems:
        run.problems += run.batch.refusals(session)  # the timeline's refusals too, every problem at once
    if run.problems or run.conflicts:
        every = [problem(source, line, message) for line, message in sorted(run.problems + run.conflicts, key=lambda p: p[0])]
        if run.problems:
            raise BadInputData(f"{len(every)} problem(s) in {source}; nothing was imported.", details=every)
        raise Conflict(f"{len(run.conflicts)} row(s) of {source} reuse a key for a different request; nothing was imported.", details=every)
    refused = run.batch.finish(session, run.now)
    if refused:
        every = [problem(source, line, message) for line, message in refused]
        raise BadInputData(f"{len(every)} problem(s) in {source}; nothing was imported.", details=every)
    imported = run.batch.imported
    return {"file": source, "rows": run.rows, "imported": imported, "skipped": run.rows - imported}
