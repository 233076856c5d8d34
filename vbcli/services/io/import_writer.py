"""The write half of `vb import trades`: parsed fills recorded through the one write path.

The reading half (services/io/importing) hands over each fill with its resolved position;
here fills get their ids in file order, each touched position is re-derived once with all
its new fills sorted by effective time (services/ledger/timeline), and the rows and events
are built by the same functions as `vb trades add` (services/ledger/fills), then inserted
with one executemany per table and chunk.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from vbcli.domain.accounting import default_commission
from vbcli.domain.facts import sort_key
from vbcli.domain.ids import new_ids
from vbcli.domain.numbers import fmt, round_avg_cost
from vbcli.errors import VbError
from vbcli.domain.jsonvalue import json_value
from vbcli.services.io.bulk import EventChain, TableWriter
from vbcli.services.io.fills import Fill
from vbcli.services.ledger import timeline
from vbcli.services.ledger.fills import NewFill, check_time, new_fill, resolve_picks, trade_row
from vbcli.services.shared import refs
from vbcli.services.shared.audit import dumps
from vbcli.services.shared.builders import fill_events, order_placed, order_row
from vbcli.services.shared.views import trade_view
from vbcli.store.tables import Event, IdempotencyKey, Order, Position, Trade

CHUNK = 5000  # rows inserted per executemany


class FillBatch:
    """The fills of an import, recorded through the one write path (services/ledger/fills).

    Fills get their ids in file order as they are read (ties at one instant keep file order);
    at the end each touched position is re-derived once with all its new fills, sorted by
    effective time, and the rows are built from the replay and inserted with one executemany
    per table and chunk.
    """

    def __init__(self, session: Session) -> None:
        self.writers = {model: TableWriter(session, model.__table__) for model in (Order, Trade, Event, IdempotencyKey)}  # type: ignore[attr-defined]
        self.chain = EventChain(session)
        self.pending: list[tuple[Position, Fill, Decimal]] = []
        self.fills: dict[str, list[tuple[int, Position, NewFill]]] = {}
        self.imported = 0

    def add(self, position: Position, fill: Fill, currency: str) -> None:
        commission = fill.commission
        if commission is None:
            commission = default_commission(fill.qty * fill.price, position.commission_rate, currency)
        self.pending.append((position, fill, commission))

    def flush(self, session: Session, now: datetime, write: bool) -> list[tuple[int, str]]:
        """Give the fills read since the last flush their ids and facts; the lines whose time is refused."""
        pending, self.pending = self.pending, []
        problems: list[tuple[int, str]] = []
        for (position, fill, commission), order_id, trade_id in zip(
                pending, new_ids("order", len(pending)), new_ids("trade", len(pending))):
            at = fill.at or now
            try:
                check_time(position, at, now)
                picks = resolve_picks(lambda ref: refs.trade(session, ref), fill.side, fill.lots)
            except VbError as error:
                problems.append((fill.line, error.message.rstrip(".")))
                continue
            made = new_fill(order_id, trade_id, fill.side, fill.qty, fill.price, commission, at, fill.key, picks)
            self.fills.setdefault(position.id, []).append((fill.line, position, made))
        return problems

    def refusals(self, session: Session) -> list[tuple[int, str]]:
        """The lines the timeline refuses, one per position, without writing (when other lines are bad too)."""
        found = []
        for entries in self.fills.values():
            error = timeline.first_refusal(session, entries[0][1], [made.fact for _, _, made in entries])
            if error is not None:
                lines = {made.fact.trade_id: line for line, _, made in entries}
                found.append((lines.get(getattr(getattr(error, "fact", None), "trade_id", ""), entries[0][0]), error.message.rstrip(".")))
        return found

    def finish(self, session: Session, now: datetime) -> list[tuple[int, str]]:
        """Re-derive each touched position once and insert the rows; the lines refused by the timeline."""
        for entries in self.fills.values():
            position = entries[0][1]
            lines = {made.fact.trade_id: line for line, _, made in entries}
            facts = [made.fact for _, _, made in entries]
            try:
                result = timeline.rederive(session, position, min(f.at for f in facts), extra=facts, cause="import")
            except VbError as error:
                culprit = getattr(error, "fact", None)
                return [(lines.get(getattr(culprit, "trade_id", ""), entries[0][0]), error.message.rstrip("."))]
            position.updated_at = now
            session.add(position)
            ordered = sorted(entries, key=lambda entry: sort_key(entry[2].fact))
            for start in range(0, len(ordered), CHUNK):
                self._write(session, ordered[start:start + CHUNK], result, now)
        self.chain.finish(session)
        return []

    def _write(self, session: Session, entries: list[tuple[int, Position, NewFill]], result: Any, now: datetime) -> None:
        orders, trades, events, keys = [], [], [], []
        for _, position, made in entries:
            f = made.fact
            outcome = result.replay.fills[f.trade_id]
            trade = trade_row(made, position, outcome, now)
            order = order_row(order_id=made.order_id, position_id=position.id, side=f.side, qty=f.qty, limit=None,
                              commission_rate=position.commission_rate, key=made.key, note="", forced=False, source="import",
                              now=now, status="filled", filled_qty=f.qty, avg_fill_price=round_avg_cost(outcome.notional / f.qty))
            view = trade_view(trade)
            events.append(order_placed(symbol=position.symbol, position_id=position.id, order_id=made.order_id, side=f.side,
                                       qty=f.qty, limit=None, source="import", ts=now))
            qty_after, cash_after = result.after[f.trade_id]
            events += fill_events(symbol=position.symbol, trade=view, qty_after=qty_after, cash_after=cash_after, ts=now)
            orders.append(_as_text(order))
            trades.append(_as_text(trade))
            if made.key:
                shown = json_value(view)
                keys.append({"key": made.key, "command": "import.trades", "created_at": now,
                             "request_hash": hashlib.sha256(dumps({"command": "import.trades", "request": shown}).encode("utf-8")).hexdigest(),
                             "result": json.dumps(shown, ensure_ascii=False)})
        self.writers[Order].write(session, orders)
        self.writers[Trade].write(session, trades)
        self.writers[Event].write(session, self.chain.rows(events))
        self.writers[IdempotencyKey].write(session, keys)
        self.imported += len(entries)


def _as_text(row: dict[str, Any]) -> dict[str, Any]:
    """Decimal cells as their fmt() text (what bulk.TableWriter writes)."""
    return {name: fmt(value) if isinstance(value, Decimal) else value for name, value in row.items()}
