"""Dividends (SPEC §3, §8.1): announced → receivable (on the ex-date) → paid (on the pay date).

Both steps are facts on the position's timeline: the ex-date at the start of its day (the
shares held at the end of the day before are entitled; the anchor drops by the dividend),
the payment at its pay date (or now when paid early). The receivable counts in the
position's value V; on payment it moves to cash. Each step happens once: a dividend's
status says what is done, so applying it again changes nothing. A dividend whose ex-date
has come when it is added is applied at once (and paid, when its pay date has come too).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from vbcli.domain.facts import DividendEx, DividendPay, start_of
from vbcli.domain.ids import new_id, record_seq
from vbcli.domain.numbers import ZERO, fmt
from vbcli.domain.timeparse import utcnow
from vbcli.errors import Conflict, UsageError
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.services.ledger import timeline
from vbcli.services.shared.views import dividend_view
from vbcli.store.tables import CashFlow, Dividend, Position

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
    if apply_due(session, row, position, now.date()):  # a due dividend applies when added (SPEC §3)
        shown = view(row, position.symbol)
    return shown


def _ex_fact(row: Dividend) -> DividendEx:
    return DividendEx(dividend_id=row.id, per_share=row.per_share, withholding=row.withholding, ex_date=row.ex_date,
                      seq=record_seq(row.id))


def apply_ex_date(session: Session, row: Dividend, position: Position) -> None:
    """Announced → receivable, on the timeline at the start of the ex-date: entitled are the shares held at
    the end of the day before; the anchor drops by the dividend (a later fill sets it again)."""
    fact = _ex_fact(row)
    result = timeline.rederive(session, position, fact.at, extra=[fact], cause="dividend")
    outcome = result.replay.dividends[row.id]
    now = utcnow()
    row.qty, row.gross, row.tax, row.net = outcome.entitled_qty, outcome.gross, outcome.tax, outcome.net
    row.status, row.updated_at = "receivable", now
    position.updated_at = now
    session.add_all([row, position])
    old, new = timeline.anchor_value(outcome.anchor_before), timeline.anchor_value(outcome.anchor_after)
    note = f"adjusted from {fmt(old)} to {fmt(new)}" if new is not None else "no anchor to adjust"
    if new is not None:
        record_event(session, "anchor_adjusted_for_dividend", f"{position.symbol} anchor {fmt(old)} → {fmt(new)} (ex-dividend)",
                     position_id=position.id, data={"dividend_id": row.id, "old": old, "new": new, "per_share": row.per_share,
                                                    "at": fact.at})
    record_event(session, "ex_dividend_applied",
                 f"{position.symbol} ex-dividend {fmt(row.per_share)} on {fmt(row.qty)} shares: net {fmt(row.net)} receivable",
                 position_id=position.id,
                 data={"dividend_id": row.id, "qty": row.qty, "per_share": row.per_share, "gross": row.gross, "tax": row.tax,
                       "net": row.net, "withholding": row.withholding, "receivable_after": position.dividend_receivable,
                       "anchor": note})


def _pay_time(row: Dividend, now: datetime, as_of: date | None) -> datetime:
    """The payment's effective time: its pay date once that has come (or is processed), else now (paid early)."""
    due = row.pay_date is not None and row.pay_date <= (as_of or now.date())
    return max(start_of(row.pay_date) if due and row.pay_date else now, start_of(row.ex_date))


def _pay(session: Session, row: Dividend, position: Position, as_of: date | None = None) -> None:
    """Receivable → paid at the pay date: the net moves to cash and total_dividends, with a cash-flow row."""
    now = utcnow()
    at = _pay_time(row, now, as_of)
    flow_id = new_id("cash_flow")
    timeline.rederive(session, position, at, extra=[DividendPay(dividend_id=row.id, at=at, seq=record_seq(flow_id))],
                      cause="dividend paid")
    net = row.net or ZERO
    position.updated_at = now
    flow = CashFlow(id=flow_id, position_id=position.id, kind="dividend", amount=net, ts=at, ref_id=row.id)
    row.status, row.updated_at = "paid", now
    session.add_all([position, flow, row])
    record_event(session, "dividend_paid", f"{position.symbol} dividend {row.id} paid: {fmt(net)} to cash",
                 position_id=position.id,
                 data={"dividend_id": row.id, "net": net, "cash_after": position.cash, "at": at,
                       "receivable_after": position.dividend_receivable, "cash_flow_id": flow.id})


def pay(session: Session, *, ref: str) -> dict[str, Any]:
    """Pay a dividend (applying its ex-date first if needed); before its ex-date it is a conflict (exit 4)."""
    row = refs.dividend(session, ref)
    position = refs.open_position(session, row.position_id)
    if row.status == "announced" and row.ex_date > utcnow().date():
        raise Conflict(f"Dividend {row.id} goes ex on {row.ex_date.isoformat()}; it cannot be paid before its ex-date.")
    if row.status == "announced":
        apply_ex_date(session, row, position)
    if row.status == "receivable":
        _pay(session, row, position)
    return view(row, position.symbol)


def apply_due(session: Session, row: Dividend, position: Position, as_of: date) -> list[str]:
    """The steps of one dividend due on or before `as_of` (the ex-date, then the payment)."""
    steps = []
    if row.status == "announced" and row.ex_date <= as_of:
        apply_ex_date(session, row, position)
        steps.append("ex-date applied")
    if row.status == "receivable" and row.pay_date is not None and row.pay_date <= as_of:
        _pay(session, row, position, as_of)
        steps.append("paid")
    return steps


def process(session: Session, *, as_of: date) -> list[dict[str, Any]]:
    """Apply every ex-date and payment due on or before `as_of` (open positions only)."""
    query = (select(Dividend, Position).join(Position, Dividend.position_id == Position.id)  # type: ignore[arg-type]
             .where(Position.status == "open", Dividend.status.in_(("announced", "receivable")))  # type: ignore[attr-defined]
             .order_by(Dividend.ex_date, Dividend.id))  # type: ignore[arg-type]
    done: list[dict[str, Any]] = []
    for row, position in session.exec(query).all():
        steps = apply_due(session, row, position, as_of)
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
