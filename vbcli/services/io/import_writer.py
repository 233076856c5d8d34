"""The write half of `vb import trades`: parsed fills recorded through the one write path.

The reading half (services/io/importing) hands over each fill with its resolved position;
here fills get their ids in file order, each touched position is re-derived once with all
its new fills sorted by effective time (services/ledger/timeline), and the rows and events
of `vb trades add` (services/shared/builders; tests/test_import.py compares them) are built in
storage form, then inserted with one executemany per table and chunk.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from vbcli.domain.accounting import default_commission
from vbcli.domain.facts import sort_key
from vbcli.domain.ids import new_ids
from vbcli.domain.numbers import fmt, round_avg_cost
from vbcli.domain.picks import to_text
from vbcli.domain.timeparse import rfc3339
from vbcli.errors import VbError
from vbcli.services.io.bulk import EventChain, TableWriter
from vbcli.services.io.fills import Fill
from vbcli.services.ledger import timeline
from vbcli.services.ledger.fills import NewFill, check_time, new_fill, resolve_picks
from vbcli.services.shared import refs
from vbcli.services.shared.audit import string
from vbcli.services.shared.views import TRADE_FIELDS
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
            self.chain.finish(session)  # a back-dated fill's position_rederived event continues the chain
            try:
                result = timeline.rederive(session, position, min(f.at for f in facts), extra=facts, cause="import")
                self.chain.resume()
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
        """The rows of `trades add` (services/shared/builders) for fills of one position, built straight
        in storage form: each figure formatted once, the trade's JSON written once for its events and key."""
        writers, chain, outcomes, after = self.writers, self.chain, result.replay.fills, result.after
        position = entries[0][1]
        position_id, symbol, rate = position.id, position.symbol, fmt(position.commission_rate)
        position_json, symbol_json = string(position_id), string(symbol)
        order_now, trade_now = writers[Order].stored("created_at", now), writers[Trade].stored("created_at", now)
        event_now, key_now, stamp = writers[Event].stored("ts", now), writers[IdempotencyKey].stored("created_at", now), rfc3339(now)
        not_forced, trade_cell = writers[Order].stored("forced", False), writers[Trade].stored
        events_on = chain.enabled
        event_ids = iter(new_ids("event", 3 * len(entries)) if events_on else ())
        orders, trades, events, keys = [], [], [], []
        for _, _, made in entries:
            f, order_id, key = made.fact, made.order_id, made.key
            trade_id, side, outcome = f.trade_id, f.side, outcomes[f.trade_id]
            qty, price, commission, notional = fmt(f.qty), fmt(f.price), fmt(f.commission), fmt(outcome.notional)
            realized = fmt(outcome.realized_pnl)
            anchor = fmt(outcome.anchor_before) if outcome.anchor_before > 0 else None
            cash = notional if outcome.cash_amount is None else fmt(outcome.cash_amount)
            orders.append((order_id, position_id, side, qty, None, "filled", qty, fmt(round_avg_cost(outcome.notional / f.qty)),
                           rate, key, "", not_forced, "import", order_now, order_now))
            executed_at = trade_cell("executed_at", f.at)
            trades.append((trade_id, order_id, position_id, symbol, side, qty, price, commission, notional, cash, realized, anchor,
                           executed_at, "executed", to_text(f.lots), key, "", None, trade_now))
            anchor_json = "null" if anchor is None else f'"{anchor}"'
            view = (string(trade_id), string(order_id), position_json, symbol_json, f'"{side}"', f'"{qty}"', f'"{price}"',
                    f'"{commission}"', f'"{_rfc3339(executed_at, f.at)}"', f'"{notional}"', f'"{realized}"', anchor_json,
                    '"executed"', "null" if key is None else string(key))
            sorted_view = _SORTED_VIEW.format(*view)
            if events_on:
                qty_after, cash_after = after[trade_id]
                events += (
                    chain.row(next(event_ids), event_now, stamp, "order_placed", position_id, order_id, None, f"{side} {qty} {symbol}",
                              f'{{"limit":null,"qty":"{qty}","side":"{side}","source":"import"}}'),
                    chain.row(next(event_ids), event_now, stamp, "order_filled", position_id, order_id, trade_id,
                              f"{side} {qty} {symbol} at {price}",
                              f'{{"cash_after":"{fmt(cash_after)}","qty_after":"{fmt(qty_after)}","trade":{sorted_view}}}'),
                    chain.row(next(event_ids), event_now, stamp, "anchor_updated", position_id, None, trade_id,
                              f"{symbol} anchor {anchor or ''} → {price}",
                              f'{{"cause":"fill","new":"{price}","old":{anchor_json}}}'))
            if key:
                request = f'{{"command":"import.trades","request":{sorted_view}}}'
                keys.append((key, "import.trades", hashlib.sha256(request.encode("utf-8")).hexdigest(), _PLAIN_VIEW.format(*view), key_now))
        writers[Order].write_stored(session, orders)
        writers[Trade].write_stored(session, trades)
        writers[Event].write_stored(session, events)
        writers[IdempotencyKey].write_stored(session, keys)
        self.imported += len(entries)


def _rfc3339(stored: Any, at: datetime) -> str:
    """rfc3339(at), from its stored text when that is SQLite's fixed width (one strftime less)."""
    if type(stored) is str and len(stored) == 27:
        return stored[:19] + "Z" if stored[20:26] == "000000" else stored
    return rfc3339(at)  # type: ignore[return-value]


# A trade's view (services/shared/views.trade_view, TRADE_FIELDS) as JSON, from its values already
# quoted: sorted and compact as audit.dumps writes it, and in field order as json.dumps(…,
# ensure_ascii=False) does for an idempotency key's result. fmt() and rfc3339() text and the side
# need no escaping; ids, symbol and key go through the encoder's own quoting (audit.string).
_SORTED_VIEW = "{{" + ",".join(f'"{name}":{{{TRADE_FIELDS.index(name)}}}' for name in sorted(TRADE_FIELDS)) + "}}"
_PLAIN_VIEW = "{{" + ", ".join(f'"{name}": {{{index}}}' for index, name in enumerate(TRADE_FIELDS)) + "}}"
