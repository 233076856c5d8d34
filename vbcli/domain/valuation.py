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

from vbcli.domain.accounting import dividend_amounts
from vbcli.domain.facts import Deposit, DividendEx, DividendPay, Fact, Fill, Opening, Split, Withdrawal
from vbcli.domain.numbers import CONTEXT, ZERO, round_money
from vbcli.domain.performance import Flow, ValuePoint

_RANK = {Opening: 0, Split: 1, DividendEx: 1, Deposit: 2, Withdrawal: 2}
_PRICE_RANK, _OTHER_RANK = 3, 4


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
    def __init__(self, currency: str, realized: dict[str, Decimal]) -> None:
        self.currency, self.realized = currency, realized
        self.qty = self.cash = self.receivable = self.cost = ZERO
        self.price: tuple[datetime, Decimal] | None = None
        self.pending: dict[str, Decimal] = {}

    def value(self) -> Decimal | None:
        if self.qty == 0:
            return self.cash + self.receivable
        if self.price is None:
            return None
        return CONTEXT.multiply(self.qty, self.price[1]) + self.cash + self.receivable

    def holdings(self) -> Holdings:
        return Holdings(self.qty, self.cash, self.receivable)


def _events(facts: Iterable[Fact], prices: Iterable[tuple[datetime, Decimal]]) -> list[tuple[datetime, int, int, object]]:
    merged: list[tuple[datetime, int, int, object]] = [
        (fact.at, _RANK.get(type(fact), _OTHER_RANK), fact.seq, fact) for fact in facts]
    merged += [(at, _PRICE_RANK, 0, price) for at, price in prices]
    merged.sort(key=lambda e: (e[0], e[1], e[2]))
    return merged


def walk(facts: Sequence[Fact], prices: Sequence[tuple[datetime, Decimal]], *, start: datetime, end: datetime,
         realized: dict[str, Decimal], currency: str = "USD", flush_at: Iterable[datetime] = ()) -> Walk:
    """Replay `facts` with `prices` (oldest first) and measure the period [start, end).

    `flush_at`: more instants (other positions' flows, for a portfolio total) just before
    which the value must be a point.
    """
    state, out = _State(currency, realized), Walk(since=start)
    pending: tuple[datetime, Decimal] | None = None  # the last value of the current day, not yet a point
    observed_day = None
    started = False
    cuts, cut = sorted(flush_at), 0
    for at, rank, _seq, item in _events(facts, prices):
        if at >= end:
            break
        if not started and at >= start:
            started = True
            _begin(out, state, start)
        if pending is not None:
            while cut < len(cuts) and cuts[cut] <= pending[0]:
                cut += 1
            flow = rank == 2 or isinstance(item, Opening)
            if at.date() != pending[0].date() or flow or (cut < len(cuts) and cuts[cut] <= at):
                if not (flow and pending[0] == at):  # a point at a flow's moment would count as after it
                    _emit(out, state, pending, started and observed_day == pending[0].date())
                pending = None
        inside = started
        if rank == _PRICE_RANK:
            state.price = (at, item)  # type: ignore[assignment]
            observed_day = at.date()
        else:
            _apply(out, state, item, inside)  # type: ignore[arg-type]
            if isinstance(item, Fill):
                observed_day = at.date()
        value = state.value()
        if value is None:
            out.unpriced = out.unpriced or state.qty > 0
        else:
            pending = (at, value)
    if not started:
        _begin(out, state, start)
    if pending is not None:
        _emit(out, state, pending, started and observed_day == pending[0].date())
    out.end, out.end_price, out.end_cost = state.holdings(), state.price, state.cost
    if out.start_price is None:
        out.start_price = _first_price_after(prices, facts, start, end)
    return out


def _begin(out: Walk, state: _State, start: datetime) -> None:
    out.start, out.start_price, out.hold_qty = state.holdings(), state.price, state.qty


def _emit(out: Walk, state: _State, point: tuple[datetime, Decimal], priced_day: bool) -> None:
    """A value point; inside the period also its hold value and (on a priced day) the allocation."""
    out.points.append(ValuePoint(*point))
    if point[0] < out.since:
        return
    if state.price is not None and out.start_price is not None:
        out.hold_points.append(ValuePoint(point[0], out.hold_at(state.price[1])))
    if priced_day and point[1] > 0 and state.price is not None:
        out.daily_allocations.append(CONTEXT.divide(CONTEXT.multiply(state.qty, state.price[1]), point[1]))


def _first_price_after(prices: Sequence[tuple[datetime, Decimal]], facts: Iterable[Fact], start: datetime,
                       end: datetime) -> tuple[datetime, Decimal] | None:
    """For a position opened during the period: its first observed price."""
    candidates = [p for p in prices if start <= p[0] < end][:1]
    candidates += [(f.at, f.price) for f in facts if isinstance(f, Fill) and start <= f.at < end][:1]
    return min(candidates, key=lambda p: p[0]) if candidates else None


def _apply(out: Walk, state: _State, fact: Fact, inside: bool) -> None:
    if isinstance(fact, Fill):
        _fill(out, state, fact, inside)
    elif isinstance(fact, Deposit):
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
    out.start_price = state.price


def _fill(out: Walk, state: _State, fact: Fill, inside: bool) -> None:
    notional = CONTEXT.multiply(fact.qty, fact.price)
    amount = round_money(notional, state.currency)
    if fact.side == "buy":
        state.qty += fact.qty
        state.cash -= amount + fact.commission
        state.cost += notional
        gain = ZERO
    else:
        gain = state.realized.get(fact.trade_id)
        if gain is None:  # average cost: what §3 removes from the basis
            gain = notional - fact.commission - (CONTEXT.divide(CONTEXT.multiply(state.cost, fact.qty), state.qty) if state.qty else ZERO)
        state.cost -= notional - fact.commission - gain
        state.qty -= fact.qty
        state.cash += amount - fact.commission
        if state.qty == 0:
            state.cost = ZERO
    state.price = (fact.at, fact.price)
    if inside:
        out.trades += 1
        out.commission += fact.commission
        out.traded_notional += notional
        out.realized_pnl += gain
