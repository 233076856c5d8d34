"""Splits and reverse splits (SPEC §8.2): a NEW:OLD fact at the start of its date.

On the timeline the split scales qty × NEW/OLD and the anchor and every lot's cost per share
× OLD/NEW; cash, value and realized P&L stay. Fills before the date stay in pre-split
shares. When the split applies, the position's open orders are rescaled: remaining qty ×
NEW/OLD (exact, else refused) and limit × OLD/NEW. A split whose date has come applies when
added; a future one waits for `vb process`. The same split (position, date, ratio) added
again is the first one, unchanged.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from vbcli.domain.facts import Split as SplitFact, TimelineError
from vbcli.domain.ids import new_id, record_seq
from vbcli.domain.numbers import fmt, parse_positive
from vbcli.domain.splits import rescale_order
from vbcli.domain.timeparse import utcnow
from vbcli.errors import UsageError
from vbcli.services.ledger import timeline
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.store.tables import Order, Position, Split

LIST_FIELDS = ["id", "position_id", "symbol", "ratio", "date", "status", "key", "created_at"]


def parse_ratio(text: str) -> tuple[Decimal, Decimal]:
    """`NEW:OLD` (4:1, 1:10, 3:2) as two positive decimals; anything else is exit 2."""
    new, sep, old = text.strip().partition(":")
    if not sep:
        raise UsageError(f"The ratio must be NEW:OLD such as 4:1 (four for one) or 1:10 (a reverse split), not {text[:20]!r}.")
    ratio = parse_positive(new, what="NEW of the ratio"), parse_positive(old, what="OLD of the ratio")
    if ratio[0] == ratio[1]:
        raise UsageError(f"The ratio {text} changes nothing; a split has NEW different from OLD.")
    return ratio


def view(row: Split, symbol: str) -> dict[str, Any]:
    return {"id": row.id, "position_id": row.position_id, "symbol": symbol, "ratio": f"{fmt(row.ratio_new)}:{fmt(row.ratio_old)}",
            "date": row.effective_date, "status": row.status, "key": row.key, "created_at": row.created_at}


def add(session: Session, *, ref: str, new: Decimal, old: Decimal, on: date, key: str | None = None) -> dict[str, Any]:
    """Record a split; apply it now when its date has come (UTC)."""
    position = refs.open_position(session, ref)
    same = session.exec(select(Split).where(Split.position_id == position.id, Split.effective_date == on,
                                            Split.ratio_new == new, Split.ratio_old == old)).first()
    if same is not None:
        return view(same, position.symbol)  # the same split twice changes nothing
    now = utcnow()
    row = Split(id=new_id("split"), position_id=position.id, ratio_new=new, ratio_old=old, effective_date=on, key=key,
                created_at=now, updated_at=now)
    if on <= now.date():
        apply(session, row, position)
    session.add(row)
    session.flush()
    return view(row, position.symbol)


def apply(session: Session, row: Split, position: Position) -> None:
    """Put the split on the timeline, rescale the open orders, record `split_applied`."""
    fact = SplitFact(split_id=row.id, new=row.ratio_new, old=row.ratio_old, on=row.effective_date, seq=record_seq(row.id))
    result = timeline.rederive(session, position, fact.at, extra=[fact], cause="split")
    outcome = result.replay.splits[row.id]
    orders = _rescale_orders(session, position, fact)
    now = utcnow()
    row.status, row.updated_at, position.updated_at = "applied", now, now
    session.add_all([row, position])
    ratio = f"{fmt(row.ratio_new)}:{fmt(row.ratio_old)}"
    record_event(session, "split_applied", f"{position.symbol} split {ratio} on {row.effective_date.isoformat()}: "
                 f"{fmt(outcome.qty_before)} → {fmt(outcome.qty_after)} shares", position_id=position.id,
                 data={"split_id": row.id, "ratio": ratio, "date": row.effective_date, "qty_before": outcome.qty_before,
                       "qty_after": outcome.qty_after, "anchor_before": timeline.anchor_value(outcome.anchor_before),
                       "anchor_after": timeline.anchor_value(outcome.anchor_after), "orders": orders})


def _rescale_orders(session: Session, position: Position, fact: SplitFact) -> list[dict[str, Any]]:
    changed = []
    live = session.exec(select(Order).where(Order.position_id == position.id, Order.status.in_(refs.LIVE_STATUSES))).all()  # type: ignore[attr-defined]
    for order in live:
        try:
            scaled = rescale_order(order.qty - order.filled_qty, order.limit_price, fact)
        except TimelineError as error:
            raise timeline.refusal(error) from None
        changed.append({"order_id": order.id, "qty": {"old": order.qty, "new": order.filled_qty + scaled.remaining_qty},
                        "limit": {"old": order.limit_price, "new": scaled.limit}})
        order.qty, order.limit_price, order.updated_at = order.filled_qty + scaled.remaining_qty, scaled.limit, utcnow()
        session.add(order)
    return changed


def process(session: Session, *, as_of: date) -> list[dict[str, Any]]:
    """Apply every split dated on or before `as_of` that is still waiting (open positions)."""
    query = (select(Split, Position).join(Position, Split.position_id == Position.id)  # type: ignore[arg-type]
             .where(Position.status == "open", Split.status == "announced", Split.effective_date <= as_of)
             .order_by(Split.effective_date, Split.id))  # type: ignore[arg-type]
    done = []
    for row, position in session.exec(query).all():
        apply(session, row, position)
        done.append(view(row, position.symbol))
    return done


def list_splits(session: Session, *, ref: str | None = None) -> list[dict[str, Any]]:
    """Splits, latest date first."""
    query = select(Split, Position.symbol).join(Position, Split.position_id == Position.id)  # type: ignore[arg-type]
    if ref:
        query = query.where(Split.position_id == refs.position(session, ref).id)
    query = query.order_by(Split.effective_date.desc(), Split.id.desc())  # type: ignore[attr-defined]
    return [view(row, symbol) for row, symbol in session.exec(query).all()]
