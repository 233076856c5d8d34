"""`vb simulate`: run the rule over a price history (domain/simulate) from a chosen start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from vbcli.domain.numbers import ZERO, round_money
from vbcli.domain.policy import Guardrails, OrderPolicy, settings_with
from vbcli.domain.rule import PositionState
from vbcli.domain.simulate import Bar, SimulationResult, simulate, start_from_cash
from vbcli.errors import UsageError
from vbcli.services.shared import refs
from vbcli.services.shared.views import guardrails_of, policy_of, state_of


@dataclass(frozen=True)
class PositionStart:
    """A ledger position as the start of a backtest (read only)."""

    state: PositionState
    policy: OrderPolicy
    guardrails: Guardrails
    currency: str


@dataclass(frozen=True)
class Backtest:
    """The summary to print (SPEC §7 simulation) and the full result for charts."""

    summary: dict[str, Any]
    result: SimulationResult


def position_start(session: Session, *, ref: str) -> PositionStart:
    """A position's shares, cash, receivable, anchor, policy and guardrails."""
    row = refs.position(session, ref)
    return PositionStart(state_of(row), policy_of(row), guardrails_of(row), refs.currency_of(session, row))


def _start(bars: list[Bar], cash: Decimal | None, qty: Decimal | None, anchor: Decimal | None,
           position: PositionStart | None, policy: OrderPolicy) -> tuple[PositionState, Decimal | None]:
    """The start state and the initial capital (None = the start's value at the first price)."""
    first = bars[0].price
    if position is not None:
        if cash is not None or qty is not None or anchor is not None:
            raise UsageError("--position sets the start; leave out --cash, --qty and --anchor.")
        state = position.state
        return PositionState(state.qty, state.cash, state.receivable, state.anchor or first), None
    if qty is not None or anchor is not None:
        return PositionState(qty or ZERO, cash or ZERO, ZERO, anchor or first), None
    if cash is None or cash <= 0:
        raise UsageError("Give the start: --cash C (half in shares at the first price), --qty Q [--anchor P] [--cash C], or --position POS.")
    return start_from_cash(cash, first, policy), cash


def run(
    *,
    bars: list[Bar],
    cash: Decimal | None = None,
    qty: Decimal | None = None,
    anchor: Decimal | None = None,
    position: PositionStart | None = None,
    settings: dict[str, Any] | None = None,
    withholding: Decimal = Decimal("0.25"),
    include_trades: bool = False,
    on_bar: Callable[[int], None] | None = None,
) -> Backtest:
    """Backtest the rule over `bars` (oldest first) against buy-and-hold; writes nothing."""
    base_policy = position.policy if position else OrderPolicy()
    base_guardrails = position.guardrails if position else Guardrails()
    policy, guardrails = settings_with(base_policy, base_guardrails, settings or {})
    start, capital = _start(bars, cash, qty, anchor, position, policy)
    if start.value(bars[0].price) <= 0 and (capital is None or capital <= 0):
        raise UsageError("The start has no value at the first price; give some cash or shares.")
    currency = position.currency if position else refs.DEFAULT_CURRENCY
    result = simulate(bars, start, policy, guardrails, initial_capital=capital, withholding=withholding,
                      currency=currency, on_bar=on_bar)
    summary = result.to_dict(include_trades=include_trades)
    trade_log = summary.pop("trade_log", None)
    summary.update(
        initial_value=round_money(result.initial_value, currency),
        first_date=bars[0].date,
        last_date=bars[-1].date,
        start={"qty": start.qty, "cash": start.cash, "receivable": start.receivable, "anchor": start.anchor},
    )
    if trade_log is not None:
        summary["trade_log"] = trade_log
    return Backtest(summary, result)
