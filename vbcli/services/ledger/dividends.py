"""Dividends (SPEC §3): announced → receivable (on the ex-date) → paid (on the pay date).

On the ex-date the anchor drops by the dividend and the net amount becomes a receivable,
which counts in the position's value V; on the pay date it moves to cash. Each step
happens once: a dividend's status says what is done, so applying it again changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from vbcli.domain.ids import new_id
from vbcli.domain.accounting import dividend_amounts
from vbcli.domain.numbers import ZERO, fmt, normalize
from vbcli.domain.timeparse import utcnow
from vbcli.errors import Conflict, UsageError
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.services.shared.views import dividend_view
from vbcli.store.tables import CashFlow, Dividend, Event, Position, Trade

DEFAULT_WITHHOLDING = Decimal("0.25")


def view(row: Dividend, symbol: str) -> dict[str, Any]:
    """SPEC §7 dividend fields, then the symbol, the shares counted and the key."""
    return {**dividend_view(row), "symbol": symbol, "qty": row.qty, "key": row.key,
            "created_at": row.created_at, "updated_at": row.updated_at}


def add(
    session: Session,
    *,
    ref: str,
    per_share: Decimal,
    ex_date: date,
    pay_date: date | None = None,
    withholding: Decimal = DEFAULT_WITHHOLDING,
    key: str | None = None,
) -> dict[str, Any]:
    """Announce a dividend; `process` (or `pay`) applies it when its dates come."""
    position = refs.open_position(session, ref)
    if pay_date is not None and pay_date < ex_date:
        raise UsageError(f"--pay-date {pay_date.isoformat()} is before --ex-date {ex_date.isoformat()}.")
    same = session.exec(select(Dividend).where(Dividend.position_id == position.id, Dividend.ex_date == ex_date)).all()
    for other in same:
        if other.per_share == per_share:
            raise Conflict(f"{position.symbol} already has the dividend {other.id} of {fmt(per_share)} with ex-date "
                           f"{ex_date.isoformat()}; give a --key to retry an announcement safely.")
    now = utcnow()
    row = Dividend(id=new_id("dividend"), position_id=position.id, per_share=per_share, ex_date=ex_date, pay_date=pay_date,
                   withholding=withholding, key=key, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    shown = view(row, position.symbol)
    record_event(session, "dividend_announced",
                 f"{position.symbol} dividend {fmt(per_share)} per share, ex-date {ex_date.isoformat()}",
                 position_id=position.id, data={"dividend": shown}, ts=now)
    return shown


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), timezone.utc)


def shares_before(session: Session, position: Position, moment: datetime) -> Decimal:
    """Shares held just before `moment`: the opening shares and every fill executed earlier."""
    fills = session.exec(
        select(Trade.side, Trade.qty).where(Trade.position_id == position.id, Trade.status == "executed",
                                            Trade.executed_at < moment)
    ).all()
    held = position.opening_qty
    for side, qty in fills:
        held = held + qty if side == "buy" else held - qty
    return max(held, ZERO)


def _anchor_moved_since(session: Session, position: Position, moment: datetime) -> bool:
    """A fill or an anchor change on or after the ex-date already reflects the ex-dividend price."""
    trade = session.exec(select(Trade.id).where(Trade.position_id == position.id, Trade.status == "executed",
                                                Trade.executed_at >= moment).limit(1)).first()
    if trade is not None:
        return True
    event = session.exec(select(Event.id).where(Event.position_id == position.id, Event.type == "anchor_updated",
                                                Event.ts >= moment).limit(1)).first()
    return event is not None


def apply_ex_date(session: Session, row: Dividend, position: Position) -> None:
    """Announced → receivable: the anchor drops by the dividend; the net goes to the receivable."""
    start = _day_start(row.ex_date)
    qty = shares_before(session, position, start)
    amounts = dividend_amounts(qty, row.per_share, row.withholding, refs.currency_of(session, position))
    gross, tax, net = normalize(amounts.gross), amounts.tax, normalize(amounts.net)
    now = utcnow()
    row.qty, row.gross, row.tax, row.net, row.status, row.updated_at = qty, gross, tax, net, "receivable", now
    position.dividend_receivable = position.dividend_receivable + net
    anchor_note = _adjust_anchor(session, row, position, start)
    position.updated_at = now
    session.add(row)
    session.add(position)
    record_event(session, "ex_dividend_applied",
                 f"{position.symbol} ex-dividend {fmt(row.per_share)} on {fmt(qty)} shares: net {fmt(net)} receivable",
                 position_id=position.id,
                 data={"dividend_id": row.id, "qty": qty, "per_share": row.per_share, "gross": gross, "tax": tax, "net": net,
                       "withholding": row.withholding, "receivable_after": position.dividend_receivable, "anchor": anchor_note})


def _adjust_anchor(session: Session, row: Dividend, position: Position, start: datetime) -> str:
    """Lower the anchor by the dividend, unless it was set at an ex-dividend price already."""
    old = position.anchor
    if old is None:
        return "no anchor to adjust"
    if _anchor_moved_since(session, position, start):
        return "not adjusted: the anchor was set on or after the ex-date"
    new = old - row.per_share
    if new <= 0:
        return f"not adjusted: {fmt(old)} minus {fmt(row.per_share)} is not a positive price"
    position.anchor = new
    record_event(session, "anchor_adjusted_for_dividend", f"{position.symbol} anchor {fmt(old)} → {fmt(new)} (ex-dividend)",
                 position_id=position.id, data={"dividend_id": row.id, "old": old, "new": new, "per_share": row.per_share})
    return f"adjusted from {fmt(old)} to {fmt(new)}"


def _pay(session: Session, row: Dividend, position: Position) -> None:
    """Receivable → paid: the net moves to cash and total_dividends, with a cash-flow row."""
    net = row.net or ZERO
    now = utcnow()
    position.cash = position.cash + net
    position.dividend_receivable = normalize(position.dividend_receivable - net)
    position.total_dividends = position.total_dividends + net
    position.updated_at = now
    flow = CashFlow(id=new_id("cash_flow"), position_id=position.id, kind="dividend", amount=net, ts=now, ref_id=row.id)
    row.status, row.updated_at = "paid", now
    session.add_all([position, flow, row])
    record_event(session, "dividend_paid", f"{position.symbol} dividend {row.id} paid: {fmt(net)} to cash",
                 position_id=position.id,
                 data={"dividend_id": row.id, "net": net, "cash_after": position.cash,
                       "receivable_after": position.dividend_receivable, "cash_flow_id": flow.id})


def pay(session: Session, *, ref: str) -> dict[str, Any]:
    """Pay a dividend now (applying its ex-date first if needed); a paid one is left as it is."""
    row = refs.dividend(session, ref)
    position = refs.open_position(session, row.position_id)
    if row.status == "announced":
        apply_ex_date(session, row, position)
    if row.status == "receivable":
        _pay(session, row, position)
    return view(row, position.symbol)


def process(session: Session, *, as_of: date) -> list[dict[str, Any]]:
    """Apply every ex-date and payment due on or before `as_of` (open positions only)."""
    query = (select(Dividend, Position).join(Position, Dividend.position_id == Position.id)  # type: ignore[arg-type]
             .where(Position.status == "open", Dividend.status.in_(("announced", "receivable")))  # type: ignore[attr-defined]
             .order_by(Dividend.ex_date, Dividend.id))  # type: ignore[arg-type]
    done: list[dict[str, Any]] = []
    for row, position in session.exec(query).all():
        steps = []
        if row.status == "announced" and row.ex_date <= as_of:
            apply_ex_date(session, row, position)
            steps.append("ex-date applied")
        if row.status == "receivable" and row.pay_date is not None and row.pay_date <= as_of:
            _pay(session, row, position)
            steps.append("paid")
        if steps:
            done.append({**view(row, position.symbol), "done": ", ".join(steps)})
    return done


def list_dividends(session: Session, *, ref: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Dividends, latest ex-date first."""
    query = select(Dividend, Position.symbol).join(Position, Dividend.position_id == Position.id)  # type: ignore[arg-type]
    if ref:
        query = query.where(Dividend.position_id == refs.position(session, ref).id)
    if status:
        query = query.where(Dividend.status == status)
    query = query.order_by(Dividend.ex_date.desc(), Dividend.id.desc())  # type: ignore[attr-defined]
    return [view(row, symbol) for row, symbol in session.exec(query).all()]
