"""Imports (SPEC §5): `import trades` (past fills, in bulk, all-or-nothing, keyed rows
idempotent) and `import all` (an `export all` document into an empty ledger, exactly).

Every bad row is reported as `FILE:LINE: message` (exit 7) and nothing is written. Fills go
through the same accounting as `vb trades add` (domain.accounting.apply_fill), but rows are
built in memory and inserted with one executemany per table.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, select

from vbcli.domain.accounting import Holdings, apply_fill, default_commission
from vbcli.domain.ids import new_id
from vbcli.domain.numbers import fmt, parse_decimal, parse_positive, round_avg_cost
from vbcli.domain.timeparse import parse_time, utcnow
from vbcli.errors import BadInputData, Conflict, NotFound, UsageError, VbError, problem
from vbcli.services import refs
from vbcli.services.audit import chain_rows, to_json_value
from vbcli.services.idempotency import request_hash
from vbcli.services.views import order_view, trade_view
from vbcli.store.tables import IdempotencyKey, Order, Portfolio, Position, Trade

INPUT_FORMATS = ("csv", "json", "ndjson")
Progress = Callable[[int], None]
_NEUTRALISED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def read_source(path: str) -> tuple[str, str]:
    """(display name, text) of a file, or of stdin for `-`."""
    if path == "-":
        return "<stdin>", sys.stdin.read()
    try:
        return path, Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"No file {path}.") from None
    except UnicodeDecodeError as exc:
        raise BadInputData(f"{path} is not UTF-8 text.", details=[problem(path, 1, f"not UTF-8 ({exc.reason})")]) from None
    except OSError as exc:
        raise NotFound(f"Cannot read {path}: {exc.strerror}.") from None


def input_format(path: str, chosen: str | None) -> str:
    """--format, else by the file's extension, csv for stdin."""
    if chosen:
        fmt_ = chosen.strip().lower()
        if fmt_ not in INPUT_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(INPUT_FORMATS)}, not {chosen[:20]!r}.")
        return fmt_
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"json": "json", "ndjson": "ndjson", "jsonl": "ndjson"}.get(suffix, "csv")


# ---- records: (line, {column: text}) from csv, json or ndjson --------------------------------

def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return text[1:] if text.startswith(_NEUTRALISED) else text  # undo the CSV formula guard


def records(text: str, format: str, source: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows with their line numbers; a malformed document raises BadInputData."""
    if format == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is None:
            return
        for row in reader:
            yield reader.line_num, {(k or "").strip().lower(): _text(v).strip() for k, v in row.items() if k is not None}
    elif format == "ndjson":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield number, _object(line, 0, number, source)[0]
    else:
        yield from _json_array(text, source)


def _object(text: str, pos: int, line: int, source: str) -> tuple[dict[str, str], int]:
    decoder = json.JSONDecoder(parse_float=str, parse_int=str)
    try:
        value, end = decoder.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise BadInputData(f"{source} is not valid JSON.", details=[problem(source, line, exc.msg)]) from None
    if not isinstance(value, dict):
        raise BadInputData(f"{source} holds something other than objects.", details=[problem(source, line, "expected an object")])
    return {str(k).strip().lower(): _text(v).strip() for k, v in value.items()}, end


def _json_array(text: str, source: str) -> Iterator[tuple[int, dict[str, str]]]:
    pos, line, counted = 0, 1, 0

    def skip(pos: int, chars: str) -> int:
        while pos < len(text) and text[pos] in chars:
            pos += 1
        return pos

    pos = skip(pos, " \t\r\n")
    if not text.startswith("[", pos):
        raise BadInputData(f"{source} is not a JSON array.", details=[problem(source, 1, "expected [ at the start")])
    pos = skip(pos + 1, " \t\r\n")
    while pos < len(text) and text[pos] != "]":
        line += text.count("\n", counted, pos)
        counted = pos
        row, pos = _object(text, pos, line, source)
        yield line, row
        pos = skip(pos, " \t\r\n,")


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
    return Fill(line, ref, side, parse_positive(row.get("qty", ""), what="qty"), parse_positive(row.get("price", ""), what="price"),
                parse_decimal(commission, what="commission") if commission else None,
                parse_time(at, what="executed_at") if at else None, key)


def _same(trade: Trade, position_id: str, fill: Fill) -> bool:
    return (trade.position_id == position_id and trade.side == fill.side and trade.qty == fill.qty and trade.price == fill.price
            and (fill.commission is None or trade.commission == fill.commission)
            and (fill.at is None or trade.executed_at == fill.at))


class _Batch:
    """Rows accumulated in memory, inserted with one executemany per table."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.keys: list[dict[str, Any]] = []
        self.positions: dict[str, Position] = {}

    def add(self, position: Position, fill: Fill, currency: str, now: datetime) -> None:
        commission = fill.commission
        if commission is None:
            commission = default_commission(fill.qty * fill.price, position.commission_rate, currency)
        held = Holdings(position.qty, position.cash, position.avg_cost, position.realized_pnl, position.total_commission)
        result = apply_fill(held, fill.side, fill.qty, fill.price, commission, position.symbol)
        order = {"id": new_id("order"), "position_id": position.id, "side": fill.side, "qty": fill.qty, "limit_price": None,
                 "status": "filled", "filled_qty": fill.qty, "avg_fill_price": round_avg_cost(result.notional / fill.qty),
                 "commission_rate": position.commission_rate, "key": fill.key, "note": "", "forced": False, "source": "import",
                 "created_at": now, "updated_at": now}
        trade = {"id": new_id("trade"), "order_id": order["id"], "position_id": position.id, "symbol": position.symbol,
                 "side": fill.side, "qty": fill.qty, "price": fill.price, "commission": commission, "notional": result.notional,
                 "realized_pnl": result.realized_pnl, "anchor_before": position.anchor, "executed_at": fill.at or now,
                 "status": "executed", "key": fill.key, "void_reason": "", "voided_at": None, "created_at": now}
        h = result.holdings
        position.qty, position.cash, position.avg_cost = h.qty, h.cash, h.avg_cost
        position.realized_pnl, position.total_commission, position.updated_at = h.realized_pnl, h.total_commission, now
        anchor_before, position.anchor = position.anchor, fill.price
        self.positions[position.id] = position
        self.orders.append(order)
        self.trades.append(trade)
        view = trade_view(_Row(trade))  # type: ignore[arg-type]
        self._events(position, order, view, anchor_before, now)
        if fill.key:
            self.keys.append({"key": fill.key, "command": "import.trades", "request_hash": request_hash("import.trades", view),
                              "result": json.dumps(to_json_value(view), ensure_ascii=False), "created_at": now})

    def _events(self, position: Position, order: dict[str, Any], view: dict[str, Any], anchor_before: Decimal | None, now: datetime) -> None:
        side, qty, symbol, price = order["side"], order["qty"], position.symbol, view["price"]
        ids = {"position_id": position.id, "order_id": order["id"]}
        self.events += [
            {"type": "order_placed", "message": f"{side} {fmt(qty)} {symbol}", **ids, "ts": now,
             "data": {"side": side, "qty": qty, "limit": None, "source": "import"}},
            {"type": "order_filled", "message": f"{side} {fmt(qty)} {symbol} at {fmt(price)}", **ids, "trade_id": view["id"],
             "data": {"trade": view, "qty_after": position.qty, "cash_after": position.cash}},
            {"type": "anchor_updated", "message": f"{symbol} anchor {fmt(anchor_before)} → {fmt(price)}", "position_id": position.id,
             "trade_id": view["id"], "data": {"old": anchor_before, "new": price, "cause": "fill"}},
        ]

    def insert(self, session: Session) -> None:
        session.flush()
        for model, rows in ((Order, self.orders), (Trade, self.trades), (IdempotencyKey, self.keys)):
            if rows:
                session.execute(insert(model.__table__), rows)  # type: ignore[attr-defined]
        events = chain_rows(session, self.events)
        if events:
            from vbcli.store.tables import Event

            session.execute(insert(Event.__table__), events)  # type: ignore[attr-defined]
        session.add_all(self.positions.values())


class _Row:
    """Attribute access over a row dict (views take table rows)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


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
                from vbcli.services.positions import for_write

                self.cache[ref] = for_write(self.session, ref)
            except VbError as error:
                self.cache[ref] = error
        found = self.cache[ref]
        if isinstance(found, VbError):
            raise found
        return found

    def currency(self, position: Position) -> str:
        if position.portfolio_id not in self.currencies:
            owner = self.session.get(Portfolio, position.portfolio_id)
            self.currencies[position.portfolio_id] = owner.currency if owner else "USD"
        return self.currencies[position.portfolio_id]


def import_trades(session: Session, *, source: str, text: str, format: str, progress: Progress | None = None) -> dict[str, Any]:
    """Record every fill of the file in this transaction, or none (exit 7 with every problem)."""
    problems: list[tuple[int, str]] = []
    conflicts: list[tuple[int, str]] = []
    fills: list[Fill] = []
    rows = 0
    for line, row in records(text, format, source):
        rows += 1
        try:
            fill = parse_fill(line, row)
        except UsageError as error:
            problems.append((line, error.message.rstrip(".")))
            continue
        if fill is not None:
            fills.append(fill)
    existing, used = _existing(session, {f.key for f in fills if f.key})
    resolve, batch, now = _Resolver(session), _Batch(), utcnow()
    in_file: dict[str, Fill] = {}
    for number, fill in enumerate(fills, 1):
        if progress and number % 500 == 0:
            progress(500)
        try:
            position = resolve(fill.ref)
            if fill.key and fill.key in in_file:
                first = in_file[fill.key]
                if (first.ref, first.side, first.qty, first.price, first.commission, first.at) != (
                        fill.ref, fill.side, fill.qty, fill.price, fill.commission, fill.at):
                    raise UsageError(f"key {fill.key!r} is used on line {first.line} for a different fill")
                continue
            if fill.key and (fill.key in existing or fill.key in used):
                trade = existing.get(fill.key)
                if trade is None or not _same(trade, position.id, fill):
                    conflicts.append((fill.line, f"key {fill.key!r} was already used for a different request"))
                continue
            if fill.key:
                in_file[fill.key] = fill
            batch.add(position, fill, resolve.currency(position), now)
        except VbError as error:
            problems.append((fill.line, error.message.rstrip(".")))
    if problems or conflicts:
        every = [problem(source, line, message) for line, message in sorted(problems + conflicts, key=lambda p: p[0])]
        if problems:
            raise BadInputData(f"{len(every)} problem(s) in {source}; nothing was imported.", details=every)
        raise Conflict(f"{len(conflicts)} row(s) of {source} reuse a key for a different request; nothing was imported.", details=every)
    batch.insert(session)
    return {"file": source, "rows": rows, "imported": len(batch.trades), "skipped": rows - len(batch.trades)}
