"""Accounting of fills (SPEC §3) as pure functions over exact decimals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from vbcli.domain.numbers import CONTEXT, ZERO, fmt, normalize, round_avg_cost, round_money
from vbcli.errors import Refused


@dataclass(frozen=True)
class Holdings:
    """The part of a position that fills change."""

    qty: Decimal
    cash: Decimal
    avg_cost: Decimal | None
    realized_pnl: Decimal = ZERO
    total_commission: Decimal = ZERO


@dataclass(frozen=True)
class FillResult:
    holdings: Holdings
    notional: Decimal
    realized_pnl: Decimal  # of this fill: (P − avg_cost)·q − c for a sell, 0 for a buy


def default_commission(notional: Decimal, rate: Decimal, currency: str = "USD") -> Decimal:
    """Commission when none is given: notional × rate, half-up to the currency's cents."""
    return round_money(notional * rate, currency)


def apply_fill(holdings: Holdings, side: str, qty: Decimal, price: Decimal, commission: Decimal, symbol: str = "") -> FillResult:
    """Apply a buy or sell; refuse one that needs more cash or shares than the position has."""
    notional = CONTEXT.multiply(qty, price)
    label = f" {symbol}" if symbol else ""
    if side == "buy":
        cost = notional + commission
        if cost > holdings.cash:
            raise Refused(
                f"Not enough cash: buying {fmt(qty)}{label} at {fmt(price)} costs {fmt(cost)} with commission, "
                f"but the position has {fmt(holdings.cash)}."
            )
        held_cost = (holdings.avg_cost or ZERO) * holdings.qty
        new_qty = holdings.qty + qty
        avg_cost = round_avg_cost((held_cost + notional) / new_qty) if new_qty else None
        after = Holdings(
            qty=new_qty,
            cash=holdings.cash - cost,
            avg_cost=avg_cost,
            realized_pnl=holdings.realized_pnl,
            total_commission=holdings.total_commission + commission,
        )
        return FillResult(after, notional, ZERO)
    if qty > holdings.qty:
        raise Refused(f"Not enough shares: selling {fmt(qty)}{label} but the position holds {fmt(holdings.qty)}.")
    proceeds = notional - commission
    if holdings.cash + proceeds < 0:
        raise Refused(f"The commission {fmt(commission)} exceeds the cash the sale and the position provide.")
    # Exact, without the trailing zeros that the 10-decimal avg_cost leaves (0.73132882880 → 0.7313288288).
    realized = normalize((price - (holdings.avg_cost if holdings.avg_cost is not None else price)) * qty - commission)
    new_qty = holdings.qty - qty
    after = Holdings(
        qty=new_qty,
        cash=holdings.cash + proceeds,
        avg_cost=holdings.avg_cost if new_qty > 0 else None,
        realized_pnl=normalize(holdings.realized_pnl + realized),
        total_commission=holdings.total_commission + commission,
    )
    return FillResult(after, notional, realized)


def reverse_fill(holdings: Holdings, side: str, qty: Decimal, price: Decimal, commission: Decimal, realized: Decimal) -> Holdings:
    """Undo a fill's effect on qty, cash, realized P&L and commissions (avg_cost: see replay_avg_cost)."""
    notional = qty * price
    if side == "buy":
        if qty > holdings.qty:
            raise Refused(f"Cannot void this buy: the position holds {fmt(holdings.qty)} shares, fewer than its {fmt(qty)}.")
        return replace(
            holdings,
            qty=holdings.qty - qty,
            cash=holdings.cash + notional + commission,
            total_commission=holdings.total_commission - commission,
        )
    cash = holdings.cash - (notional - commission)
    if cash < 0:
        raise Refused(f"Cannot void this sell: it would leave the position with negative cash ({fmt(cash)}).")
    return replace(
        holdings,
        qty=holdings.qty + qty,
        cash=cash,
        realized_pnl=normalize(holdings.realized_pnl - realized),
        total_commission=holdings.total_commission - commission,
    )


def replay_avg_cost(opening_qty: Decimal, opening_cost: Decimal | None, fills: Iterable[tuple[str, Decimal, Decimal]]) -> Decimal | None:
    """avg_cost after replaying (side, qty, price) fills in order from the opening shares."""
    qty = opening_qty
    avg = opening_cost if opening_qty > 0 else None
    for side, fill_qty, price in fills:
        if side == "buy":
            held = (avg or ZERO) * qty
            qty += fill_qty
            avg = round_avg_cost((held + fill_qty * price) / qty) if qty else None
        else:
            qty -= fill_qty
            if qty <= 0:
                avg = None
    return avg


@dataclass(frozen=True)
class DividendAmounts:
    gross: Decimal
    tax: Decimal
    net: Decimal


def dividend_amounts(qty: Decimal, per_share: Decimal, withholding: Decimal, currency: str = "USD") -> DividendAmounts:
    """gross = qty·per_share; tax = gross·withholding half-up to cents; net = gross − tax (SPEC §3)."""
    gross = qty * per_share
    tax = round_money(gross * withholding, currency)
    return DividendAmounts(gross, tax, gross - tax)
