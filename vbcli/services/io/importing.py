"""Imports (SPEC §5): `import trades` (past fills, in bulk, all-or-nothing, keyed rows
idempotent) and `import all` (an `export all` document into an empty ledger, exactly).

Every bad row is reported as `FILE:LINE: message` (exit 7) and nothing is written. Fills go
through the same accounting as `vb trades add` (domain.accounting.apply_fill), but rows are
built as plain rows and inserted with one executemany per table, a chunk at a time.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from vbcli.domain.accounting import Holdings, apply_fill, default_commission
from vbcli.domain.ids import new_ids
from vbcli.domain.numbers import fmt, parse_decimal, parse_positive, round_avg_cost
from vbcli.domain.timeparse import parse_time, utcnow
from vbcli.errors import BadInputData, Conflict, UsageError, VbError, problem
from vbcli.domain.jsonvalue import json_value
from vbcli.services.io.bulk import EventChain, TableWriter
from vbcli.services.shared.audit import dumps
from vbcli.services.shared.builders import fill_events, order_placed, order_row, trade_row
from vbcli.services.shared.views import trade_view
from vbcli.services.io.files import read_source  # noqa: F401  (the CLI reads import files through here)
from vbcli.services.io.records import records
from vbcli.services.shared.refs import currency_of, open_position
from vbcli.store.tables import Event, IdempotencyKey, Order, Position, Trade

INPUT_FORMATS = ("csv", "json", "ndjson")
Progress = Callable[[int], None]
CHUNK = 5000  # fills checked, applied and inserted together: memory stays flat however long the file


def input_format(path: str, chosen: str | None) -> str:
    """--format, else by the file's extension, csv for stdin."""
    if chosen:
        fmt_ = chosen.strip().lower()
        if fmt_ not in INPUT_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(INPUT_FORMATS)}, not {chosen[:20]!r}.")
        return fmt_
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"json": "json", "ndjson": "ndjson", "jsonl": "ndjson"}.get(suffix, "csv")


# ---- trades -----------------------------------------------------------------------------------

@dataclass
class Fill:
    line: int
    ref: str
    side: str
    qty: Decimal
    price: Decimal
    commission: Decimal | None
    at: datetime | None
    key: str | None


@functools.lru_cache(maxsize=4096)
def _positive(text: str, what: str) -> Decimal:
    return parse_positive(text, what=what)  # errors are raised, never cached


@functools.lru_cache(maxsize=4096)
def _decimal(text: str, what: str) -> Decimal:
    return parse_decimal(text, what=what)


def parse_fill(line: int, row: dict[str, str]) -> Fill | None:
    """One row as a fill (None for a voided row of an export); raises UsageError with the reason."""
    if row.get("status", "") not in ("", "executed"):
        return None
    ref = row.get("position") or row.get("position_id") or row.get("symbol") or ""
    if not ref:
        raise UsageError("no position, position_id or symbol")
    side = row.get("side", "").lower()
    if side not in ("buy", "sell"):
        raise UsageError(f"side must be buy or sell, not {row.get('side', '')[:20]!r}")
    commission = row.get("commission", "")
    at = row.get("executed_at", "")
    key = row.get("key") or None
    if key is not None and len(key) > 200:
        raise UsageError("key is longer than 200 characters")
    return Fill(line, ref, side, _positive(row.get("qty", ""), "qty"), _positive(row.get("price", ""), "price"),
                _decimal(commission, "commission") if commission else None,
                parse_time(at, what="executed_at") if at else None, key)


def _same(trade: Trade, position_id: str, fill: Fill) -> bool:
    return (trade.position_id == position_id and trade.side == fill.side and trade.qty == fill.qty and trade.price == fill.price
            and (fill.commission is None or trade.commission == fill.commission)
            and (fill.at is None or trade.executed_at == fill.at))


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its decimals as fmt() text, the storage form bulk.TableWriter takes."""
    return {name: fmt(value) if isinstance(value, Decimal) else value for name, value in row.items()}


class _Batch:
    """The rows of up to CHUNK fills, built as plain dicts and inserted with one executemany per table.

    Holdings are tracked here and written to the positions once, at the end.
    """

    def __init__(self, session: Session) -> None:
        self.writers = {model: TableWriter(session, model.__table__) for model in (Order, Trade, Event, IdempotencyKey)}  # type: ignore[attr-defined]
        self.chain = EventChain(session)
        self.fills: list[tuple[Position, Fill, Decimal, Any, Decimal | None]] = []
        self.held: dict[str, tuple[Position, Holdings, Decimal | None]] = {}
        self.imported = 0

    def add(self, position: Position, fill: Fill, currency: str) -> None:
        """Apply one fill to the position's running holdings (raises Refused like `trades add`)."""
        _, held, anchor = self.held.get(position.id) or (position, Holdings(
            position.qty, position.cash, position.avg_cost, position.realized_pnl, position.total_commission), position.anchor)
        commission = fill.commission
        if commission is None:
            commission = default_commission(fill.qty * fill.price, position.commission_rate, currency)
        result = apply_fill(held, fill.side, fill.qty, fill.price, commission, position.symbol)
        self.held[position.id] = (position, result.holdings, fill.price)
        self.fills.append((position, fill, commission, result, anchor))

    def flush(self, session: Session, now: datetime, write: bool) -> None:
        """Insert the rows of the fills added since the last flush (or drop them when `write` is off)."""
        fills, self.fills = self.fills, []
        if not write or not fills:
            return
        orders, trades, events, keys = [], [], [], []
        for (position, fill, commission, result, anchor), order_id, trade_id in zip(
                fills, new_ids("order", len(fills)), new_ids("trade", len(fills))):
            order, trade, view = self._rows(position, fill, commission, result, anchor, order_id, trade_id, now)
            orders.append(order)
            trades.append(trade)
            self._events(events, position, fill, view, result.holdings, anchor, now)
            if fill.key:
                view = json_value(view)
                keys.append({"key": fill.key, "command": "import.trades", "created_at": now,
                             "request_hash": hashlib.sha256(dumps({"command": "import.trades", "request": view}).encode("utf-8")).hexdigest(),
                             "result": json.dumps(view, ensure_ascii=False)})
        self.writers[Order].write(session, orders)
        self.writers[Trade].write(session, trades)
        self.writers[Event].write(session, self.chain.rows(events))
        self.writers[IdempotencyKey].write(session, keys)
        self.imported += len(fills)

    @staticmethod
    def _rows(position: Position, fill: Fill, commission: Decimal, result: Any, anchor: Decimal | None, order_id: str,
              trade_id: str, now: datetime) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The order and trade rows in storage form (decimals as fmt() text, see bulk.TableWriter) and the trade's view."""
        order = order_row(order_id=order_id, position_id=position.id, side=fill.side, qty=fill.qty, limit=None,
                          commission_rate=position.commission_rate, key=fill.key, note="", forced=False, source="import", now=now,
                          status="filled", filled_qty=fill.qty, avg_fill_price=round_avg_cost(result.notional / fill.qty))
        trade = trade_row(trade_id=trade_id, order_id=order_id, position_id=position.id, symbol=position.symbol, side=fill.side,
                          qty=fill.qty, price=fill.price, commission=commission, notional=result.notional,
                          realized_pnl=result.realized_pnl, anchor_before=anchor, executed_at=fill.at or now, key=fill.key, now=now)
        return _stored(order), _stored(trade), trade_view(trade)

    @staticmethod
    def _events(events: list[dict[str, Any]], position: Position, fill: Fill, view: dict[str, Any], after: Holdings,
                anchor_before: Decimal | None, now: datetime) -> None:
        events.append(order_placed(symbol=position.symbol, position_id=position.id, order_id=view["order_id"], side=fill.side,
                                   qty=fill.qty, limit=None, source="import", ts=now))
        events += fill_events(symbol=position.symbol, trade=view, qty_after=after.qty, cash_after=after.cash, ts=now)

    def finish(self, session: Session, now: datetime) -> None:
        """Write the holdings to the positions and advance the ledger head."""
        for position, held, anchor in self.held.values():
            position.qty, position.cash, position.avg_cost = held.qty, held.cash, held.avg_cost
            position.realized_pnl, position.total_commission = held.realized_pnl, held.total_commission
            position.anchor, position.updated_at = anchor, now
            session.add(position)
        self.chain.finish(session)


def _existing(session: Session, keys: set[str]) -> tuple[dict[str, Trade], dict[str, IdempotencyKey]]:
    trades: dict[str, Trade] = {}
    seen: dict[str, IdempotencyKey] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        part = ordered[start:start + 500]
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
        self.resolve, self.batch, self.now = _Resolver(session), _Batch(session), utcnow()
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
        self.batch.flush(self.session, self.now, write=not (self.problems or self.conflicts))

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


def import_trades(session: Session, *, source: str, text: str, format: str, progress: Progress | None = None) -> dict[str, Any]:
    """Record every fill of the file in this transaction, or none (exit 7 with every problem).

    Rows are checked, applied and inserted CHUNK at a time, so memory stays flat; any problem
    anywhere raises, which rolls back the chunks already inserted.
    """
    run = _Run(session, progress)
    for chunk in _chunks(records(text, format, source)):
        run.chunk(chunk)
    if run.problems or run.conflicts:
        every = [problem(source, line, message) for line, message in sorted(run.problems + run.conflicts, key=lambda p: p[0])]
        if run.problems:
            raise BadInputData(f"{len(every)} problem(s) in {source}; nothing was imported.", details=every)
        raise Conflict(f"{len(run.conflicts)} row(s) of {source} reuse a key for a different request; nothing was imported.", details=every)
    run.batch.finish(session, run.now)
    imported = run.batch.imported
    return {"file": source, "rows": run.rows, "imported": imported, "skipped": run.rows - imported}
