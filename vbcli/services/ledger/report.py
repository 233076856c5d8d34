"""`vb report`: performance per position and per portfolio over a period (SPEC §8.5).

The period is [start, end): start is 00:00 UTC of --since (the end of the day before), or the
opening; end is 00:00 UTC after --until, or now. Values use the stored prices and fills
(§8.4); a figure that needs a price nobody observed is null, and `notes` says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from vbcli.domain import performance as perf
from vbcli.domain.numbers import ZERO, normalize
from vbcli.domain.performance import Flow, Measured, Period, ValuePoint
from vbcli.domain.timeparse import utcnow
from vbcli.domain.valuation import Walk, walk
from vbcli import nogc
from vbcli.errors import UsageError
from vbcli.services.ledger import history, prices
from vbcli.services.shared import refs
from vbcli.store import rawread
from vbcli.store.history import opened_at
from vbcli.store.tables import Portfolio, Position

FIELDS = [
    "position_id", "portfolio", "symbol", "currency", "since", "until", "start_value", "end_value", "contributions",
    "withdrawals", "pnl", "dividends", "commission", "realized_pnl", "unrealized_pnl", "twr", "twr_annualized", "irr",
    "stock_return", "hold_value", "excess", "trades", "turnover", "in_guardrails", "max_drawdown", "price_at", "notes",
]  # fmt: skip


@dataclass(frozen=True)
class Curve:
    """Value and hold value over time of one row, for --plot."""

    label: str
    value: list[ValuePoint]
    hold: list[ValuePoint]


@dataclass(frozen=True)
class Report:
    rows: list[dict[str, Any]]
    curves: list[Curve]


@dataclass(frozen=True)
class PositionPeriod:
    """One position's walk over its period, with what the report row needs besides it."""

    row: Position
    portfolio: str
    currency: str
    period: Period
    walk: Walk


def report(session: Session, *, ref: str | None = None, portfolio: str | None = None, since: datetime | None = None,
           until: datetime | None = None, curves: bool = False) -> Report:
    """One row per position, then a total row per portfolio (position_id null); with `curves`, their curves too."""
    end = until or utcnow()
    if since is not None and since >= end:
        raise UsageError("--since must be before --until (and before now).")
    groups = _positions(session, ref, portfolio, since, end)
    times = rawread.Memo(rawread.times(session.connection().dialect))
    rows: list[dict[str, Any]] = []
    drawn: list[Curve] = []
    with nogc.paused():  # every fill and price becomes a tuple: 100 000s of them
        for (name, currency), positions in groups.items():
            histories = [history.load(session, p, end) for p in positions]
            cuts = sorted({at for h in histories for at in h.flow_times})
            measured = [_measure(session, h, name, currency, since, end, cuts, times, curves) for h in histories]
            own = [position_row(m) for m in measured]
            total, period = total_row(measured, own, name, currency, since, end, cuts)
            rows += [*own, total]
            if curves:
                drawn += [Curve(f"{name}/{m.row.symbol}", _inside(m.walk.points, m.period), m.walk.hold_points) for m in measured]
                drawn.append(Curve(f"{name} (total)", _inside(list(period.points), period),
                                   merged_points((m.walk.hold_points for m in measured), cuts)))
    return Report(rows, drawn)


def _inside(points: list[ValuePoint], period: Period) -> list[ValuePoint]:
    return [p for p in points if period.start <= p.at < period.end]


def _positions(session: Session, ref: str | None, portfolio: str | None, since: datetime | None,
               end: datetime) -> dict[tuple[str, str], list[Position]]:
    if ref is not None:
        row = refs.position(session, ref)
        owner = session.get(Portfolio, row.portfolio_id)
        assert owner is not None
        return {(owner.name, owner.currency): [row]}
    opened = func.coalesce(Position.opened_at, Position.created_at)  # rows before 0002: their creation
    query = select(Position, Portfolio).join(Portfolio).where(opened < end)
    if portfolio:
        query = query.where(Portfolio.id == refs.portfolio_by_name(session, portfolio).id)
    if since is not None:
        query = query.where((Position.closed_at == None) | (Position.closed_at >= since))  # noqa: E711
    groups: dict[tuple[str, str], list[Position]] = {}
    for row, owner in session.exec(query.order_by(Portfolio.name, Position.symbol, opened, Position.id)).all():
        groups.setdefault((owner.name, owner.currency), []).append(row)
    return groups


def _measure(session: Session, h: history.History, name: str, currency: str, since: datetime | None, end: datetime,
             cuts: list[datetime], times: rawread.Memo, curves: bool) -> PositionPeriod:
    start = since or opened_at(h.position)
    observed = prices.series(session, h.position.symbol, end, times)
    result = walk(h.facts, observed, start=start, end=end, fills=h.fills, currency=currency, flush_at=cuts,
                  hold_curve=curves)
    return PositionPeriod(h.position, name, currency, Period(start, end, tuple(result.points), tuple(result.flows)), result)


class _Figures:
    """The row's figures, collecting a note for every one that is null."""

    def __init__(self) -> None:
        self.row: dict[str, Any] = {}
        self.notes: list[str] = []

    def put(self, name: str, measured: Measured) -> None:
        self.row[name] = measured.value
        if measured.value is None and measured.note:
            self.notes.append(f"{name}: {measured.note}")


def _performance(figures: _Figures, period: Period, priced: bool, reason: str) -> None:
    """start/end value, flows, pnl, TWR, IRR, drawdown and mean value of one period."""
    contributions, withdrawals = perf.contributions(period), perf.withdrawals(period)
    figures.row.update(contributions=contributions, withdrawals=withdrawals)
    missing = Measured(None, reason)
    if not priced:
        for name in ("start_value", "end_value", "pnl", "twr", "twr_annualized", "irr", "max_drawdown"):
            figures.put(name, missing)
        return
    start_value, end_value = perf.start_value(period), perf.end_value(period)
    figures.row.update(start_value=normalize(start_value), end_value=normalize(end_value),
                       pnl=normalize(end_value - start_value - contributions + withdrawals))
    series = perf.growth_series(period)
    figures.put("twr", perf.twr(period))
    figures.put("twr_annualized", perf.twr_annualized(period))
    figures.put("irr", perf.irr(period))
    figures.put("max_drawdown", perf.max_drawdown(series) if series else Measured(None, "the TWR is not available"))


def position_row(m: PositionPeriod) -> dict[str, Any]:
    w, symbol = m.walk, m.row.symbol
    end_priced = w.end.qty == 0 or w.end_price is not None
    reason = f"no price of {symbol} was stored or filled before the end of the period"
    figures = _Figures()
    figures.row.update(position_id=m.row.id, portfolio=m.portfolio, symbol=symbol, currency=m.currency,
                       since=m.period.start, until=m.period.end)
    _performance(figures, m.period, end_priced and not (w.start.qty > 0 and w.start_price is None), reason)
    end_price = w.end_price[1] if w.end_price else None
    figures.row.update(dividends=normalize(w.dividends), commission=normalize(w.commission), realized_pnl=normalize(w.realized_pnl))
    unrealized = Measured(normalize(w.end.qty * end_price - w.end_cost)) if end_price is not None else (
        Measured(ZERO) if w.end.qty == 0 else Measured(None, reason))
    figures.put("unrealized_pnl", unrealized)
    start_price = w.start_price[1] if w.start_price else None
    # A split between the two prices changes what one share is: compare like with like.
    figures.put("stock_return", perf.stock_return(start_price, end_price * w.split_factor if end_price is not None else None))
    hold = perf.hold_value(w.hold_qty, w.start.cash, w.start.receivable, end_price, w.hold_dividends, w.net_flows) \
        if w.hold_qty > 0 else Measured(w.start.cash + w.start.receivable + w.hold_dividends + w.net_flows)
    figures.put("hold_value", Measured(normalize(hold.value)) if hold.value is not None else hold)
    end_value = figures.row.get("end_value")
    figures.put("excess", perf.excess(end_value, hold) if end_value is not None else Measured(None, reason))
    figures.row["trades"] = w.trades
    figures.put("turnover", perf.turnover(w.traded_notional, perf.mean_value(m.period)) if end_priced else Measured(None, reason))
    figures.put("in_guardrails", perf.in_guardrails(w.daily_allocations, m.row.min_stock_alloc, m.row.max_stock_alloc))
    figures.row["price_at"] = w.end_price[0] if w.end_price else None
    return _finish(figures)


def _finish(figures: _Figures) -> dict[str, Any]:
    row = {name: figures.row.get(name) for name in FIELDS}
    row["notes"] = "; ".join(figures.notes) or None
    return row


def merged_points(series: Iterable[list[ValuePoint]], cuts: Sequence[datetime] = ()) -> list[ValuePoint]:
    """The sum of several step functions, thinned as each position's own points are.

    At each moment every series' latest value is summed; of those sums only the last of each
    day and the last before each cut (an external flow of any position) are kept. The moments
    between are mixes (one position already at today's value, another still at yesterday's)
    that no day-end figure should see.
    """
    latest: dict[int, Decimal] = {}
    total, points = ZERO, []
    point = ValuePoint._make
    tagged = sorted((p.at, index, p.value) for index, points_ in enumerate(series) for p in points_)
    upcoming = iter(cuts)
    next_cut = next(upcoming, None)
    last_day = None
    for at, index, value in tagged:
        day = at.date()
        if points:
            last = points[-1][0]
            while next_cut is not None and next_cut <= last:
                next_cut = next(upcoming, None)
            if last == at or (day == last_day and not (next_cut is not None and next_cut <= at)):
                points.pop()  # superseded: same moment, or a later one the same day with no flow between
        total += value - latest.get(index, ZERO)
        latest[index] = value
        points.append(point((at, total)))
        last_day = day
    return points


def total_row(measured: list[PositionPeriod], rows: list[dict[str, Any]], name: str, currency: str, since: datetime | None,
              end: datetime, cuts: Sequence[datetime] = ()) -> tuple[dict[str, Any], Period]:
    """The portfolio's row (values and flows summed, rates from the summed series) and its period."""
    start = since or min((m.period.start for m in measured), default=end)
    flows: list[Flow] = [f for m in measured for f in m.walk.flows]
    period = Period(start, end, tuple(merged_points((m.walk.points for m in measured), cuts)), tuple(flows))
    unpriced = [m.row.symbol for m in measured if m.walk.end.qty > 0 and m.walk.end_price is None]
    reason = f"no price of {', '.join(unpriced)} before the end of the period"
    figures = _Figures()
    figures.row.update(position_id=None, portfolio=name, symbol=None, currency=currency, since=start, until=end)
    _performance(figures, period, not unpriced, reason)
    for field in ("dividends", "commission", "realized_pnl"):
        figures.row[field] = normalize(sum((getattr(m.walk, field) for m in measured), ZERO))
    for field in ("unrealized_pnl", "hold_value"):
        values = [r[field] for r in rows]
        figures.put(field, Measured(normalize(sum(values, ZERO))) if None not in values else Measured(None, reason))
    end_value = figures.row.get("end_value")
    hold = figures.row.get("hold_value")
    figures.put("excess", Measured(end_value - hold) if end_value is not None and hold is not None else Measured(None, reason))
    figures.put("stock_return", Measured(rows[0]["stock_return"]) if len(rows) == 1 else
                Measured(None, "a portfolio's row has no single stock"))
    figures.row["trades"] = sum(m.walk.trades for m in measured)
    notional = sum((m.walk.traded_notional for m in measured), ZERO)
    figures.put("turnover", perf.turnover(notional, perf.mean_value(period)) if not unpriced else Measured(None, reason))
    figures.put("in_guardrails", Measured(None, "guardrails are per position"))
    return _finish(figures), period
