"""Performance of a position or portfolio over a period (SPEC §8.5), as pure functions.

Conventions, in one place:

- Time. A period is the half-open interval [start, end): `start` is the end of the day before
  --since (midnight at the start of --since, or the opening), `end` is the end of --until
  (midnight after it, or now). The value *at* a boundary t is the value just before t
  (`value_before`: the latest point strictly before t, 0 when there is none, plus the flows
  made after that point and before t). External flows count when start ≤ at < end, so
  consecutive periods chain exactly. A point is the value after every event at its moment,
  flows at that moment included.
- Flow timing. A flow at moment t is made before anything else at t (before a price move or
  a fill at t): the value just before it is `value_before(t)`, the value just after it is
  that plus the flow. A flow known only by its date is at 00:00 of that day, i.e. at
  the start of the day, before that day's price moves; this is how `hledger roi` counts a
  posting dated d (value before = postings dated < d; the flow is discounted from d).
- Days. Actual/365 on elapsed time: days = seconds / 86400 exactly, so midnight to midnight
  is a whole number of days (what hledger 1.25 uses: integer day difference / 365; hledger
  1.40+ uses / 365.25 instead). Annualising needs at least one day; shorter → None.
- Precision. Arithmetic in RATE_CONTEXT (40 significant digits); every rate returned is
  quantised half-even to RATE_PLACES (10) decimal places by `_rate`. The IRR solver stops when
  its bracket on 1+r is narrower than xirr.TOLERANCE (1e-15), well below the last place.
- Missing or non-positive bases give None with a plain-English note, never an exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any, NamedTuple

from vbcli.domain.numbers import ONE, ZERO, normalize
from vbcli.domain.xirr import solve_growth

RATE_CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN)
RATE_PLACES = 10
DAYS_PER_YEAR = Decimal(365)
SECONDS_PER_DAY = Decimal(86400)
MICROSECOND = timedelta(microseconds=1)
EXACT = Context(prec=80)  # sums of value × microseconds: no rounding at any size a ledger holds


class ValuePoint(NamedTuple):
    """The value (qty·price + cash + receivable) after every event at `at`, at a priced moment.

    A tuple, not a dataclass: a report makes one per position and priced day (100 000s).
    """

    at: datetime
    value: Decimal


class Flow(NamedTuple):
    """An external flow: positive = contribution (deposit, opening), negative = withdrawal."""

    at: datetime
    amount: Decimal


@dataclass(frozen=True)
class Measured:
    """A computed figure, or None with the reason it cannot be computed."""

    value: Decimal | None
    note: str = ""


@dataclass(frozen=True)
class Period:
    """The valuation series and external flows of one position or portfolio over [start, end)."""

    start: datetime
    end: datetime
    points: tuple[ValuePoint, ...]
    flows: tuple[Flow, ...] = ()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period must not end before it starts")
        object.__setattr__(self, "points", _by_time(self.points))
        object.__setattr__(self, "flows", _by_time(self.flows))

    # Derived once: every figure of a row reads them (cached_property writes the instance dict).
    @cached_property
    def times(self) -> list[datetime]:
        return [point.at for point in self.points]

    @cached_property
    def flows_inside(self) -> list[Flow]:
        """External flows inside [start, end), those at the same moment summed into one."""
        merged: dict[datetime, Decimal] = {}
        for flow in self.flows:
            if self.start <= flow.at < self.end:
                merged[flow.at] = merged.get(flow.at, ZERO) + flow.amount
        return [Flow(at, amount) for at, amount in merged.items() if amount != 0]

    @cached_property
    def events(self) -> list[tuple[datetime, int, Decimal]]:
        """Flows (kind 0, amount) and points (kind 1, value) inside the period, flows first at a moment."""
        events = [(f.at, 0, f.amount) for f in self.flows_inside]
        first, last = bisect_left(self.times, self.start), bisect_left(self.times, self.end)
        events += [(p.at, 1, p.value) for p in self.points[first:last]]
        return sorted(events)  # (at, kind) never ties: one point per moment, flows summed per moment

    @cached_property
    def chain(self) -> Measured | list[Decimal]:  # twr, its annualised form and the drawdown share it
        return _chain(self)


def _by_time(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(sorted(items, key=lambda item: item.at))  # stable; linear on the walk's sorted series


def _rate(value: Decimal) -> Decimal:
    return normalize(value.quantize(Decimal(1).scaleb(-RATE_PLACES), rounding=ROUND_HALF_EVEN, context=RATE_CONTEXT))


def days_between(start: datetime, end: datetime) -> Decimal:
    """Elapsed days, exact (Actual/365 counts these)."""
    delta = end - start
    seconds = Decimal(delta.days) * SECONDS_PER_DAY + Decimal(delta.seconds) + Decimal(delta.microseconds).scaleb(-6)
    return normalize(RATE_CONTEXT.divide(seconds, SECONDS_PER_DAY))


def value_before(period: Period, moment: datetime) -> Decimal:
    """The value just before `moment`.

    The latest point strictly before it (0 if none) plus the external flows made after that
    point and before `moment` (a point already includes the flows at or before its time).
    """
    before = bisect_left(period.times, moment)  # points[:before] are strictly before it
    latest, since = (period.points[before - 1].value, period.points[before - 1].at) if before else (ZERO, None)
    pending = sum((f.amount for f in period.flows if (since is None or f.at > since) and f.at < moment), ZERO)
    return latest + pending


def start_value(period: Period) -> Decimal:
    return value_before(period, period.start)


def end_value(period: Period) -> Decimal:
    return value_before(period, period.end)


def contributions(period: Period) -> Decimal:
    return sum((f.amount for f in period.flows_inside if f.amount > 0), ZERO)


def withdrawals(period: Period) -> Decimal:
    """The withdrawals as a positive amount."""
    return -sum((f.amount for f in period.flows_inside if f.amount < 0), ZERO)


def pnl(period: Period) -> Decimal:
    """end − start − contributions + withdrawals."""
    return end_value(period) - start_value(period) - contributions(period) + withdrawals(period)


def annualize(period_return: Decimal | None, days: Decimal) -> Measured:
    """(1+r)^(365/days) − 1; None for a period shorter than a day or a missing return."""
    if period_return is None:
        return Measured(None, "the period return is not available")
    if days < 1:
        return Measured(None, "the period is shorter than a day")
    growth = ONE + period_return
    if growth < 0:
        return Measured(None, "the value went below zero")
    with localcontext(RATE_CONTEXT):
        annual = growth ** (DAYS_PER_YEAR / days) - ONE if growth > 0 else -ONE
    if annual.adjusted() >= RATE_CONTEXT.prec - RATE_PLACES:  # 10 places would not fit in 40 digits
        return Measured(None, "the annualised rate is above 10^30: the period is too short to annualise")
    return Measured(_rate(annual))


def growth_index(period: Period) -> Measured:
    """The chain-linked TWR growth factor over the period (1 = no change); see `twr`."""
    chained = period.chain
    return chained if isinstance(chained, Measured) else Measured(chained[-1])


def growth_series(period: Period) -> list[Decimal]:
    """The growth index at the start, at every point inside the period and at the end.

    Flows do not move it, so it is what `max_drawdown` needs; empty when `twr` is None.
    """
    chained = period.chain
    return [] if isinstance(chained, Measured) else chained


def _chain(period: Period) -> Measured | list[Decimal]:
    """Walk flows and points in time order (flows first at a shared moment), linking at flows."""
    flows = period.flows_inside
    if start_value(period) <= 0 and not flows:
        return Measured(None, "nothing was invested during the period")
    index, base, current, since = ONE, start_value(period), start_value(period), period.start
    series = [ONE]
    for at, kind, amount in [*period.events, (period.end, 0, ZERO)]:
        if kind == 1:
            current = amount
            if base > 0:
                series.append(RATE_CONTEXT.multiply(index, RATE_CONTEXT.divide(current, base)))
            continue
        if base > 0:
            index = RATE_CONTEXT.multiply(index, RATE_CONTEXT.divide(current, base))
        elif base < 0 or current != 0:
            return Measured(None, f"the value after {since.isoformat()} starts at {base}, not above zero")
        base = current = current + amount
        since = at
    series.append(index)
    return series


def twr(period: Period) -> Measured:
    """Time-weighted return of the period, chain-linked at each external flow.

    Sub-periods run from the start and from just after each flow to just before the next flow
    (or the end); each returns value just before / value just after − 1. A sub-period with
    zero value at both ends (before the opening, after closing out) is skipped; one that
    starts at zero or below and ends elsewhere gives None.
    """
    index = growth_index(period)
    return index if index.value is None else Measured(_rate(index.value - ONE))


def twr_annualized(period: Period) -> Measured:
    """The TWR annualised Actual/365 (from the unrounded growth index)."""
    index = growth_index(period)
    if index.value is None:
        return index
    return annualize(index.value - ONE, days_between(period.start, period.end))


def irr_cash_flows(period: Period) -> list[tuple[Decimal, Decimal]]:
    """(days from start, amount into the investment): start value, the flows, −end value."""
    flows = [(ZERO, start_value(period))]
    flows += [(days_between(period.start, f.at), f.amount) for f in period.flows_inside]
    flows.append((days_between(period.start, period.end), -end_value(period)))
    return [(t, amount) for t, amount in flows if amount != 0]


def irr(period: Period) -> Measured:
    """Money-weighted return, annualised Actual/365 (XIRR).

    Solves Σ cf_i·(1+r)^(−t_i/365) = 0, multiplied through by (1+r)^(T/365) so that it reads
    Σ cf_i·x^((T−t_i)/365) = 0 with x = 1+r (hledger's form). The root nearest x = 1 is taken
    when the flows change sign more than once.
    """
    days = days_between(period.start, period.end)
    if days < 1:
        return Measured(None, "the period is shorter than a day")
    if start_value(period) < 0 or end_value(period) < 0:
        return Measured(None, "the value is below zero at the start or the end")
    flows = irr_cash_flows(period)
    if not flows:
        return Measured(None, "nothing was invested during the period")
    if all(amount > 0 for _, amount in flows):
        return Measured(Decimal(-1))  # money went in and nothing is left: −100%
    if all(amount < 0 for _, amount in flows):
        return Measured(None, "the cash flows do not change sign")
    with localcontext(RATE_CONTEXT):
        weights = [(amount, (days - t) / DAYS_PER_YEAR) for t, amount in flows]
    root = solve_growth(weights, RATE_CONTEXT)
    if root is None:
        return Measured(None, "the IRR equation has no root between −100% and +10^14% a year")
    return Measured(_rate(root - ONE))


def max_drawdown(values: Iterable[Decimal]) -> Measured:
    """The largest fall from a running peak, as a positive fraction of the peak.

    Give it a flow-free series (`growth_series`), not raw values that deposits and
    withdrawals move.
    """
    peak: Decimal | None = None
    worst = ZERO
    for value in values:
        if peak is None or value > peak:
            peak = value
        if peak > 0:
            worst = max(worst, RATE_CONTEXT.divide(peak - value, peak))
    if peak is None:
        return Measured(None, "there are no values")
    if peak <= 0:
        return Measured(None, "the value never rose above zero")
    return Measured(_rate(worst))


def hold_value(start_qty: Decimal, start_cash: Decimal, start_receivable: Decimal, end_price: Decimal | None,
               held_dividends_net: Decimal = ZERO, net_flows: Decimal = ZERO) -> Measured:
    """What the start holdings would be worth at the end had no trade been made.

    start_qty·end_price + start_cash + start_receivable + held_dividends_net + net_flows.
    held_dividends_net: what the start shares would have received, net of withholding, from
    the dividends with an ex-date in the period, paid into cash (the sum of
    accounting.dividend_amounts(start_qty, per_share, withholding).net): hold keeps its
    dividends as the strategy does. net_flows: contributions − withdrawals of the period,
    kept as cash (a deposit is not a trade), so that excess measures the trades alone.
    """
    if end_price is None or end_price <= 0:
        return Measured(None, "there is no price at the end of the period")
    return Measured(start_qty * end_price + start_cash + start_receivable + held_dividends_net + net_flows)


def excess(end: Decimal, hold: Measured) -> Measured:
    """end_value − hold_value."""
    return hold if hold.value is None else Measured(end - hold.value)


def stock_return(start_price: Decimal | None, end_price: Decimal | None) -> Measured:
    """The stock's own price return: end price / start price − 1."""
    if start_price is None or start_price <= 0:
        return Measured(None, "there is no price at the start of the period")
    if end_price is None or end_price <= 0:
        return Measured(None, "there is no price at the end of the period")
    return Measured(_rate(RATE_CONTEXT.divide(end_price, start_price) - ONE))


def mean_value(period: Period) -> Measured:
    """The time-weighted mean of the value over [start, end), the value being a step function."""
    total_days = days_between(period.start, period.end)
    if total_days <= 0:
        return Measured(None, "the period is empty")
    # Σ value × elapsed microseconds, exact, over the whole span: the same mean as in days.
    weighted, left, current = ZERO, period.start, start_value(period)
    for at, kind, amount in [*period.events, (period.end, 0, ZERO)]:
        weighted = EXACT.fma(current, (at - left) // MICROSECOND, weighted)
        left, current = at, (amount if kind == 1 else current + amount)
    return Measured(RATE_CONTEXT.divide(weighted, Decimal((period.end - period.start) // MICROSECOND)))


def turnover(traded_notional: Decimal, mean: Measured) -> Measured:
    """Traded notional / mean value."""
    if mean.value is None or mean.value <= 0:
        return Measured(None, "the mean value is not above zero")
    return Measured(_rate(RATE_CONTEXT.divide(traded_notional, mean.value)))


def in_guardrails(daily_allocations: Iterable[Decimal | None], min_alloc: Decimal, max_alloc: Decimal) -> Measured:
    """Share of priced days whose stock allocation is within [min_alloc, max_alloc]; None = unpriced."""
    priced = [a for a in daily_allocations if a is not None]
    if not priced:
        return Measured(None, "no day in the period has a price")
    inside = sum(1 for a in priced if min_alloc <= a <= max_alloc)
    return Measured(_rate(RATE_CONTEXT.divide(Decimal(inside), Decimal(len(priced)))))
