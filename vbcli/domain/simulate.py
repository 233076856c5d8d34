"""A pure backtest of the volatility-balancing rule against buy-and-hold (SPEC §4).

Every decision comes from `rule.evaluate`; this module only fills the proposed orders,
pays dividends and keeps running statistics (O(1) per bar, so 50 000 bars are quick).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from vbcli.domain.accounting import dividend_amounts
from vbcli.domain.numbers import CONTEXT, MAX_FRACTION_DIGITS, ONE, ZERO, floor_decimals, round_money, round_ratio
from vbcli.domain.policy import Guardrails, OrderPolicy
from vbcli.domain.rule import ANCHOR_RESET, BUY, SELL, OrderContext, PositionState, evaluate_in_context, floor_quantity
from vbcli.domain.splits import exact_scale, scale_price
from vbcli.errors import BadInputData

TRADING_DAYS = 252
SQRT_TRADING_DAYS = Decimal(TRADING_DAYS).sqrt(CONTEXT)
METRIC_PLACES = 6
# Running sums carry ~1e-60 rounding noise; a variance below this is a flat series.
_VARIANCE_FLOOR = Decimal("1e-40")


@dataclass(frozen=True)
class Bar:
    """One daily price; `dividend` is the per-share dividend whose ex-date is this bar; `split` the
    (NEW, OLD) split at the start of this bar (SPEC §8.2: the price is already split)."""

    date: datetime.date
    price: Decimal
    dividend: Decimal = ZERO
    split: tuple[Decimal, Decimal] | None = None


@dataclass
class SimulationResult:
    """Exact results; `to_dict` rounds them for output (SPEC §7 "simulation")."""

    bars: int
    trades: int
    final_value: Decimal
    ret: Decimal
    max_drawdown: Decimal
    volatility: Decimal | None
    sharpe: Decimal | None
    commission: Decimal
    dividends: Decimal
    excess_return: Decimal
    buy_and_hold: dict[str, Decimal | None]
    trade_log: list[dict[str, Any]] = field(default_factory=list)
    series: list[tuple[datetime.date, Decimal, Decimal]] = field(default_factory=list)
    initial_value: Decimal = ZERO
    # Not in to_dict (SPEC §7 simulation): `vb optimize` adds them to its rows.
    sortino: Decimal | None = None
    buy_and_hold_sortino: Decimal | None = None
    currency: str = "USD"

    def to_dict(self, include_trades: bool = False) -> dict[str, Any]:
        """Money rounded to cents, ratios to 6 decimals; `trade_log` only on request."""
        bh = self.buy_and_hold
        result: dict[str, Any] = {
            "bars": self.bars,
            "trades": self.trades,
            "final_value": self._money(self.final_value),
            "return": _ratio(self.ret),
            "max_drawdown": _ratio(self.max_drawdown),
            "volatility": _ratio(self.volatility),
            "sharpe": _ratio(self.sharpe),
            "commission": self._money(self.commission),
            "dividends": self._money(self.dividends),
            "excess_return": _ratio(self.excess_return),
            "buy_and_hold": {
                "final_value": self._money(bh["final_value"]),
                "return": _ratio(bh["return"]),
                "max_drawdown": _ratio(bh["max_drawdown"]),
                "volatility": _ratio(bh["volatility"]),
                "sharpe": _ratio(bh["sharpe"]),
            },
        }
        if include_trades:
            result["trade_log"] = list(self.trade_log)
        return result

    def _money(self, value: Decimal | None) -> Decimal | None:
        return None if value is None else round_money(value, self.currency)


def _ratio(value: Decimal | None) -> Decimal | None:
    return None if value is None else round_ratio(value, METRIC_PLACES)


def _position_state(qty: Decimal, cash: Decimal, receivable: Decimal, anchor: Decimal | None) -> PositionState:
    """PositionState without the frozen dataclass's per-field __setattr__ (once per fill)."""
    state = object.__new__(PositionState)
    state.__dict__.update(qty=qty, cash=cash, receivable=receivable, anchor=anchor)
    return state


class _Tracker:
    """Running peak, max drawdown and sums of daily simple returns of one value series."""

    def __init__(self) -> None:
        self.previous: Decimal | None = None
        self.peak: Decimal | None = None
        self.trough: Decimal | None = None  # the lowest value since the peak
        self.max_drawdown = ZERO
        self.count = 0
        self.total = ZERO
        self.total_squares = ZERO
        self.downside_squares = ZERO  # of the negative daily returns, for Sortino

    def add(self, value: Decimal) -> None:
        peak, previous = self.peak, self.previous
        if peak is None or value > peak:
            self.peak = self.trough = value
        elif value < self.trough and peak > 0:  # type: ignore[operator]
            # The drawdown from one peak is largest at the lowest value after it.
            self.trough = value
            drawdown = (peak - value) / peak
            if drawdown > self.max_drawdown:
                self.max_drawdown = drawdown
        if previous:  # neither None nor zero
            daily = value / previous - ONE
            self.count += 1
            self.total += daily
            square = daily * daily
            self.total_squares += square
            if daily < 0:
                self.downside_squares += square
        self.previous = value

    def daily_stdev(self) -> Decimal | None:
        """Sample standard deviation (n − 1) of the daily returns; None below two returns."""
        if self.count < 2:
            return None
        variance = (self.total_squares - self.total * self.total / self.count) / (self.count - 1)
        return ZERO if variance < _VARIANCE_FLOOR else variance.sqrt(CONTEXT)

    def volatility(self) -> Decimal | None:
        stdev = self.daily_stdev()
        return None if stdev is None else stdev * SQRT_TRADING_DAYS

    def sharpe(self) -> Decimal | None:
        """Mean daily return / stdev × √252 (no risk-free rate); None when the stdev is 0."""
        stdev = self.daily_stdev()
        if not stdev:
            return None
        return self.total / self.count / stdev * SQRT_TRADING_DAYS

    def sortino(self) -> Decimal | None:
        """Mean daily return / √(Σ min(r, 0)² / n) × √252; None without a negative return."""
        if self.count == 0 or self.downside_squares == 0:
            return None
        return self.total / self.count / (self.downside_squares / self.count).sqrt(CONTEXT) * SQRT_TRADING_DAYS


def _scaled(qty: Decimal, new: Decimal, old: Decimal) -> Decimal:
    exact = exact_scale(qty, new, old)
    return exact if exact is not None else floor_decimals(qty * new / old, MAX_FRACTION_DIGITS)


def start_from_cash(cash: Decimal, first_price: Decimal, policy: OrderPolicy) -> PositionState:
    """Half of `cash` in shares at the first price (floored to the policy's step), the rest cash."""
    with localcontext(CONTEXT):
        qty = floor_quantity(cash / 2 / first_price, policy)
        return PositionState(qty=qty, cash=cash - qty * first_price, anchor=first_price)


class _Run:
    """The mutable state of one backtest: the strategy and its buy-and-hold benchmark."""

    def __init__(self, start: PositionState, policy: OrderPolicy, guardrails: Guardrails, withholding: Decimal, currency: str):
        self.qty, self.cash, self.receivable, self.anchor = start.qty, start.cash, start.receivable, start.anchor
        self.policy, self.guardrails, self.currency = policy, guardrails, currency
        self.withholding = withholding
        self.context = OrderContext(apply_daily_cap=False, currency=currency, explain=False)
        self.initial = ZERO
        self.bh_qty = ZERO
        self.bh_cash = ZERO
        self.count = 0
        self.commission = ZERO
        self.dividends = ZERO
        self.trade_log: list[dict[str, Any]] = []
        self.series: list[tuple[datetime.date, Decimal, Decimal]] = []
        self.strategy = _Tracker()
        self.benchmark = _Tracker()
        self._state: PositionState | None = None  # the state the rule sees, while unchanged

    def begin(self, bar: Bar, initial_capital: Decimal | None) -> None:
        """Fix the initial capital and buy the benchmark at the first price."""
        start_value = self.qty * bar.price + self.cash + self.receivable
        self.initial = start_value if initial_capital is None else initial_capital
        self.bh_qty = floor_decimals(self.initial / bar.price)
        self.bh_cash = self.initial - self.bh_qty * bar.price

    def step(self, bar: Bar) -> None:
        """One bar: ex-dividend, then the rule, then the fill, then the values."""
        # The start is bought at the first bar's price, which is already split and ex-dividend.
        if bar.split is not None and self.count > 0:
            self._split(*bar.split)
        if bar.dividend > 0 and self.count > 0:
            self._ex_dividend(bar.dividend)
        state = self._state
        if state is None:  # rebuilt only after a change: most bars hold
            state = self._state = _position_state(self.qty, self.cash, self.receivable, self.anchor)
        ev = evaluate_in_context(state, bar.price, self.policy, self.guardrails, self.context)
        action = ev.action
        if action == BUY or action == SELL:
            self._fill(bar, ev.side or "", ev.qty, ev.commission, ev.reason)
            self._state = None
        elif action == ANCHOR_RESET:
            self.anchor = bar.price
            self._state = None
        # Without a fill the rule's V = Q·P + C + R is this bar's value, computed the same way.
        value = ev.total_value if self._state is not None else self.qty * bar.price + self.cash + self.receivable
        bh_value = self.bh_qty * bar.price + self.bh_cash
        self.strategy.add(value)
        self.benchmark.add(bh_value)
        self.series.append((bar.date, value, bh_value))
        self.count += 1

    def _split(self, new: Decimal, old: Decimal) -> None:
        """Shares × NEW/OLD (a fraction beyond 12 decimals is dropped: no cash-in-lieu), anchor × OLD/NEW."""
        self.qty, self.bh_qty = (_scaled(q, new, old) for q in (self.qty, self.bh_qty))
        if self.anchor is not None:
            self.anchor = scale_price(self.anchor, new, old)
        self._state = None

    def _ex_dividend(self, per_share: Decimal) -> None:
        # A backtest pays the net dividend at once instead of through a receivable.
        self._state = None
        if self.anchor is not None:
            self.anchor -= per_share
        # The same amounts as the ledger: tax rounded half-up to cents.
        net = dividend_amounts(self.qty, per_share, self.withholding, self.currency).net
        self.cash += net
        self.dividends += net
        self.bh_cash += dividend_amounts(self.bh_qty, per_share, self.withholding, self.currency).net

    def _fill(self, bar: Bar, side: str, qty: Decimal, commission: Decimal, reason: str) -> None:
        notional = qty * bar.price
        amount = round_money(notional, self.currency)  # cash moves in cents, as in the ledger (SPEC §3)
        anchor_before = self.anchor
        if side == "buy":
            self.qty += qty
            self.cash -= amount + commission
        else:
            self.qty -= qty
            self.cash += amount - commission
        self.anchor = bar.price
        self.commission += commission
        self.trade_log.append(
            {
                "date": bar.date.isoformat(),
                "side": side,
                "qty": qty,
                "price": bar.price,
                "notional": notional,
                "commission": commission,
                "anchor_before": anchor_before,
                "qty_after": self.qty,
                "cash_after": self.cash,
                "reason": reason,
            }
        )

    def result(self) -> SimulationResult:
        final, bh_final = self.series[-1][1], self.series[-1][2]
        ret, bh_ret = self._return(final), self._return(bh_final)
        return SimulationResult(
            bars=self.count,
            trades=len(self.trade_log),
            final_value=final,
            ret=ret,
            max_drawdown=self.strategy.max_drawdown,
            volatility=self.strategy.volatility(),
            sharpe=self.strategy.sharpe(),
            commission=self.commission,
            dividends=self.dividends,
            excess_return=ret - bh_ret,
            buy_and_hold={
                "final_value": bh_final,
                "return": bh_ret,
                "max_drawdown": self.benchmark.max_drawdown,
                "volatility": self.benchmark.volatility(),
                "sharpe": self.benchmark.sharpe(),
            },
            trade_log=self.trade_log,
            series=self.series,
            initial_value=self.initial,
            currency=self.currency,
            sortino=self.strategy.sortino(),
            buy_and_hold_sortino=self.benchmark.sortino(),
        )

    def _return(self, final: Decimal) -> Decimal:
        return final / self.initial - ONE if self.initial > 0 else ZERO


def simulate(
    bars: Iterable[Bar],
    start: PositionState,
    policy: OrderPolicy,
    guardrails: Guardrails,
    *,
    initial_capital: Decimal | None = None,
    withholding: Decimal = Decimal("0.25"),
    currency: str = "USD",
    on_bar: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run the rule over daily bars (oldest first) and compare with buy-and-hold.

    `initial_capital` defaults to the start position's value at the first price; it is
    the base of both returns and the buy-and-hold stake. `on_bar(i)` reports progress.
    """
    run = _Run(start, policy, guardrails, withholding, currency)
    with localcontext(CONTEXT):  # once for the whole run: entering it per bar costs more than the bar
        for index, bar in enumerate(bars):
            if index == 0:
                run.begin(bar, initial_capital)
            run.step(bar)
            if on_bar is not None:
                on_bar(index)
        if run.count == 0:
            raise BadInputData("There are no price bars to simulate; the file needs at least one date,price row.")
        return run.result()
