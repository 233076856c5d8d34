"""Stored figures against replayed ones, as data (`db check`, `position_rederived`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from vbcli.domain.timeline import FillOutcome, PositionState, Replay

POSITION_FIELDS = (
    "qty", "cash", "anchor", "avg_cost", "cost_basis", "dividend_receivable", "realized_pnl",
    "total_commission", "total_dividends",
)
TRADE_FIELDS = ("notional", "realized_pnl", "anchor_before")

Figure = Decimal | None


@dataclass(frozen=True)
class Difference:
    """One stored figure that the replay derives differently; `field` is e.g. `cash` or
    `trade trd_01…: realized_pnl`."""

    field: str
    stored: Figure
    derived: Figure


def position_figures(state: PositionState) -> dict[str, Figure]:
    """The position's derived figures under the names of POSITION_FIELDS."""
    return {
        "qty": state.qty,
        "cash": state.cash,
        "anchor": state.anchor,
        "avg_cost": state.avg_cost,
        "cost_basis": state.cost_basis,
        "dividend_receivable": state.receivable,
        "realized_pnl": state.realized_pnl,
        "total_commission": state.total_commission,
        "total_dividends": state.total_dividends,
    }


def trade_figures(outcome: FillOutcome) -> dict[str, Figure]:
    return {"notional": outcome.notional, "realized_pnl": outcome.realized_pnl, "anchor_before": outcome.anchor_before}


def diff_figures(stored: Mapping[str, Figure], derived: Mapping[str, Figure], *, prefix: str = "") -> list[Difference]:
    """Fields of `derived` whose stored value differs numerically (1.50 equals 1.5)."""
    out: list[Difference] = []
    for name, value in derived.items():
        old = stored.get(name)
        if (old is None) != (value is None) or (old is not None and value is not None and Decimal(old) != value):
            out.append(Difference(prefix + name, old, value))
    return out


def diff_replay(
    stored_position: Mapping[str, Figure],
    stored_trades: Mapping[str, Mapping[str, Figure]],
    replayed: Replay,
) -> list[Difference]:
    """Every stored figure of a position and its executed trades that the replay changes.

    A position field missing from `stored_position` (e.g. cost_basis before it is stored) is
    not compared; a stored trade the replay does not have is reported under `trade …: status`.
    """
    derived = {k: v for k, v in position_figures(replayed.state).items() if k in stored_position}
    out = diff_figures(stored_position, derived)
    for trade_id, figures in stored_trades.items():
        outcome = replayed.fills.get(trade_id)
        if outcome is None:
            out.append(Difference(f"trade {trade_id}: status", None, None))
            continue
        wanted = {k: v for k, v in trade_figures(outcome).items() if k in figures}
        out.extend(diff_figures(figures, wanted, prefix=f"trade {trade_id}: "))
    return out
