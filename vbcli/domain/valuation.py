"""A position's value over time, from its facts and price observations (SPEC §8.4–8.5), pure.

`walk` replays the holdings (qty, cash, receivable, cost basis) fact by fact with the
arithmetic of SPEC §3, reading each sell's realized P&L from the stored replay (`realized`),
and values them at the latest price observation: a stored price or a fill. It yields what
the performance math needs (performance.Period: value points and external flows) and the
period's totals. Points are thinned to the last value of each day and the value just before
each external flow; that is all the chain-linked TWR, the IRR, the drawdown, the daily
guardrail share and the (daily) mean value need.

Order at one instant: the opening, splits and ex-dates (start of day), then deposits and
withdrawals, then a stored price, then fills and payments in record order; fills are
observations of their own price.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import NamedTuple

from vbcli.domain.accounting import dividend_amounts
from vbcli.domain.facts import Deposit, DividendEx, DividendPay, Fact, Fill, Opening, Split, Withdrawal
from vbcli.domain.numbers import CONTEXT, ONE, ZERO, round_money
from vbcli.domain.performance import RATE_CONTEXT, Flow, ValuePoint

_RANK = {Opening: 0, Split: 1, DividendEx: 1, Deposit: 2, Withdrawal: 2}
_FLOW_RANK, _PRICE_RANK, _OTHER_RANK = 2, 3, 4
FILL_RANK = _OTHER_RANK  # fills and payments: after flows and a price at the same instant, in record order
_NEVER = datetime.max.replace(tzinfo=timezone.utc)


class FillRow(NamedTuple):
    """An executed fill as the walk reads it: a plain tuple, because a report reads 100 000s.

    It sorts with the other events as (at, rank, seq); `realized` is the stored replay's
    realized P&L of a sell (None: average cost, as SPEC §3); `cash_amount` the cash it moved
    as recorded (None: q·P half-up to the minor unit).
    """

    at: datetime
    rank: int
    seq: int
    side: str
    qty: Decimal
    price: Decimal
    commission: Decimal
    realized: Decimal | None = None
    cash_amount: Decimal | None = None

    @classmethod
    def of(cls, fill: Fill, realized: Decimal | None = None) -> FillRow:
        """The row of a Fill fact (readers of 100 000s build them with tuple.__new__ instead)."""
        return cls(fill.at, _OTHER_RANK, fill.seq, fill.side, fill.qty, fill.price, fill.commission, realized, fill.cash_amount)


def _point(at: datetime, value: Decimal) -> ValuePoint:
    return tuple.__new__(ValuePoint, (at, value))  # type: ignore[type-var]


@dataclass(frozen=True)
class Holdings:
    qty: Decimal = ZERO
    cash: Decimal = ZERO
    receivable: Decimal = ZERO


@dataclass
class Walk:
    """Everything `report` needs about one position over [start, end)."""

    points: list[ValuePoint] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    start: Holdings = field(default_factory=Holdings)
    end: Holdings = field(default_factory=Holdings)
    start_price: tuple[datetime, Decimal] | None = None  # at or before the start (or the first one after it)
    start_splits: Decimal = ONE  # the splits' product (new/old) up to the start price's observation
    split_factor: Decimal = ONE  # shares per start share between the start price and the end price
    end_price: tuple[datetime, Decimal] | None = None  # the latest before the end
    end_cost: Decimal = ZERO  # cost basis of the shares held at the end
    unpriced: bool = False  # shares were held at a moment with no price observed yet
    trades: int = 0
    commission: Decimal = ZERO
    traded_notional: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    dividends: Decimal = ZERO  # net, of the ex-dates inside the period
    hold_qty: Decimal = ZERO  # the start shares, through the period's splits
    hold_dividends: Decimal = ZERO  # what those shares would have received, net
    opened_inside: bool = False
    daily_allocations: list[Decimal] = field(default_factory=list)
    since: datetime = datetime.min.replace(tzinfo=timezone.utc)
    hold_points: list[ValuePoint] = field(default_factory=list)  # what holding would be worth, for --plot
    net_flows: Decimal = ZERO  # contributions − withdrawals inside the period, the opening not counted

    def hold_at(self, price: Decimal) -> Decimal:
        """The hold value at `price`: start shares (split-adjusted) and cash, their dividends, the flows as cash."""
        return CONTEXT.multiply(self.hold_qty, price) + self.start.cash + self.start.receivable + self.hold_dividends + self.net_flows


class _State:
    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.qty = self.cash = self.receivable = self.cost = ZERO
        self.price: tuple[datetime, Decimal] | None = None
        self.splits = ONE  # the product of new/old of the splits applied so far
        self.price_splits = ONE  # ... when the current price was observed
        self.pending: dict[str, Decimal] = {}

    def value(self) -> Decimal:
        """qty·price + cash + receivable; only called when priced (no shares, or a price seen)."""
        if self.qty == 0 or self.price is None:
            return self.cash + self.receivable
        return CONTEXT.multiply(self.qty, self.price[1]) + self.cash + self.receivable

    def holdings(self) -> Holdings:
        return Holdings(self.qty, self.cash, self.receivable)


Event = tuple  # (at, rank, seq, ...): a FillRow, or (at, rank, seq, fact | price)


def _events(facts: Iterable[Fact], fills: Iterable[FillRow], prices: Iterable[tuple[datetime, Decimal]]) -> list[Event]:
    merged: list[Event] = [(fact.at, _RANK.get(type(fact), _OTHER_RANK), fact.seq, fact) for fact in facts]
    merged += fills
    merged += [(at, _PRICE_RANK, 0, price) for at, price in prices]
    # (at, rank, seq) never ties (seq is unique per fact, a symbol has one price per time), so
    # the tuples sort as they are; fills and prices come sorted, which timsort merges cheaply.
    merged.sort()
    return merged


def walk(facts: Sequence[Fact], prices: Sequence[tuple[datetime, Decimal]], *, start: datetime, end: datetime,
         realized: dict[str, Decimal] | None = None, currency: str = "USD", flush_at: Iterable[datetime] = (),
         fills: Sequence[FillRow] = (), hold_curve: bool = False) -> Walk:
    """Replay `facts` and `fills` with `prices` (oldest first) and measure the period [start, end).

    Fills come either as Fill facts (their realized P&L from `realized`, by trade id) or, for
    speed, as FillRows sorted by (at, seq). `flush_at`: more instants (other positions' flows,
    for a portfolio total) just before which the value must be a point. `hold_curve`: also the
    hold value at every point (for --plot).
    """
    realized = realized or {}
    rows = [FillRow.of(f, realized.get(f.trade_id)) for f in facts if isinstance(f, Fill)]
    others = [f for f in facts if not isinstance(f, Fill)] if rows else facts
    fills = sorted([*fills, *rows]) if rows else fills
    state, out = _State(currency), Walk(since=start)
    pending_at: datetime | None = None  # the moment of the current day's last value, not yet a point
    pending_day = observed_day = None
    started = False
    cuts = iter(sorted(flush_at))
    next_cut = next(cuts, _NEVER)
    multiply = CONTEXT.multiply
    for event in _events(others, fills, prices):
        at, rank = event[0], event[1]
        if at >= end:
            break
        if not started and at >= start:
            started = True
            _begin(out, state, start)
        day = at.date()
        if pending_at is not None:
            while next_cut <= pending_at:
                next_cut = next(cuts, _NEVER)
            flow = rank == _FLOW_RANK or rank == 0
            if day != pending_day or flow or next_cut <= at:
                if not (flow and pending_at == at):  # a point at a flow's moment would count as after it
                    # Nothing was applied since the pending moment: the state is still its state.
                    _emit(out, state, _point(pending_at, state.value()), started and observed_day == pending_day, hold_curve)
                pending_at = None
        if rank == _PRICE_RANK:
            state.price, state.price_splits = (at, event[3]), state.splits
            observed_day = day
            if started and out.start_price is None:  # opened inside the period: its first observed price
                out.start_price, out.start_splits = state.price, state.price_splits
        elif event.__class__ is FillRow:
            # A fill, inline: the report replays 100 000s of them (SPEC §3's arithmetic).
            _, _, _, side, qty, price, commission, gain, amount = event
            notional = multiply(qty, price)
            if amount is None:
                amount = round_money(notional, currency)
            if side == "buy":
                state.qty += qty
                state.cash -= amount + commission
                state.cost += notional
                gain = ZERO
            else:
                if gain is None:  # average cost: what §3 removes from the basis
                    gain = notional - commission - (CONTEXT.divide(multiply(state.cost, qty), state.qty) if state.qty else ZERO)
                state.cost -= notional - commission - gain
                state.qty -= qty
                state.cash += amount - commission
                if state.qty == 0:
                    state.cost = ZERO
            state.price, state.price_splits = (at, price), state.splits
            if started:
                out.trades += 1
                out.commission += commission
                out.traded_notional += notional
                out.realized_pnl += gain
                if out.start_price is None:
                    out.start_price, out.start_splits = state.price, state.price_splits
            observed_day = day
        else:
            _apply(out, state, event[3], started)
        if state.qty == 0 or state.price is not None:
            pending_at, pending_day = at, day
        else:
            out.unpriced = out.unpriced or state.qty > 0
    if not started:
        _begin(out, state, start)
    if pending_at is not None:
        _emit(out, state, _point(pending_at, state.value()), started and observed_day == pending_day, hold_curve)
    out.end, out.end_price, out.end_cost = state.holdings(), state.price, state.cost
    if out.start_price is not None and out.end_price is not None:
        out.split_factor = state.price_splits / out.start_splits
    return out


def _begin(out: Walk, state: _State, start: datetime) -> None:
    out.start, out.start_price, out.hold_qty = state.holdings(), state.price, state.qty
    out.start_splits = state.price_splits


def _emit(out: Walk, state: _State, point: ValuePoint, priced_day: bool, hold_curve: bool) -> None:
    """A value point; inside the period also (on a priced day) the allocation, and the hold value if asked."""
    out.points.append(point)
    at, value = point
    if at < out.since or state.price is None:
        return
    price = state.price[1]
    if hold_curve and out.start_price is not None:
        out.hold_points.append(_point(at, out.hold_at(price)))
    if priced_day and value > 0:
        # 40 digits, as every rate: an allocation exactly at a guardrail is exact at any precision.
        out.daily_allocations.append(RATE_CONTEXT.divide(CONTEXT.multiply(state.qty, price), value))


def _apply(out: Walk, state: _State, fact: Fact, inside: bool) -> None:
    if isinstance(fact, Deposit):
        state.cash += fact.amount
        if inside:
            out.flows.append(Flow(fact.at, fact.amount))
            out.net_flows += fact.amount
    elif isinstance(fact, Withdrawal):
        state.cash -= fact.amount
        if inside:
            out.flows.append(Flow(fact.at, -fact.amount))
            out.net_flows -= fact.amount
    elif isinstance(fact, Opening):
        _opening(out, state, fact, inside)
    elif isinstance(fact, DividendEx):
        net = dividend_amounts(state.qty, fact.per_share, fact.withholding, state.currency).net
        state.pending[fact.dividend_id] = net
        state.receivable += net
        if inside:
            out.dividends += net
            out.hold_dividends += dividend_amounts(out.hold_qty, fact.per_share, fact.withholding, state.currency).net
    elif isinstance(fact, DividendPay):
        net = state.pending.pop(fact.dividend_id, ZERO)
        state.receivable -= net
        state.cash += net
    elif isinstance(fact, Split):
        state.qty = CONTEXT.divide(CONTEXT.multiply(state.qty, fact.new), fact.old)
        state.splits = CONTEXT.divide(CONTEXT.multiply(state.splits, fact.new), fact.old)
        if inside:
            out.hold_qty = CONTEXT.divide(CONTEXT.multiply(out.hold_qty, fact.new), fact.old)


def _opening(out: Walk, state: _State, fact: Opening, inside: bool) -> None:
    state.qty, state.cash, state.cost = fact.qty, fact.cash, CONTEXT.multiply(fact.qty, fact.cost_per_share)
    if not inside:
        return
    # The opening is the first contribution: its shares at the price then (else at their cost).
    price = state.price[1] if state.price is not None else fact.cost_per_share
    out.flows.append(Flow(fact.at, fact.cash + CONTEXT.multiply(fact.qty, price)))
    out.start, out.hold_qty, out.opened_inside = Holdings(fact.qty, fact.cash), fact.qty, True
    out.start_price, out.start_splits = state.price, state.price_splits
