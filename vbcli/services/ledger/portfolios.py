"""Portfolios: named groups of positions with a currency."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from vbcli.domain.ids import new_id
from vbcli.domain.timeparse import utcnow
from vbcli.errors import Conflict, UsageError
from vbcli.services.shared import refs
from vbcli.services.shared.audit import record_event
from vbcli.services.shared.views import portfolio_view
from vbcli.store.tables import Portfolio, Position

DEFAULT_PORTFOLIO = "default"


def get_for_write(session: Session, name: str | None) -> Portfolio:
    return refs.portfolio_by_name(session, name or DEFAULT_PORTFOLIO)


def add(session: Session, *, name: str, currency: str = "USD", description: str = "", cost_basis: str = "average") -> dict[str, Any]:
    name = refs.check_name(name, what="A portfolio name")
    currency = currency.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise UsageError(f"Currency {currency[:10]!r} must be a three-letter code such as USD.")
    description = refs.check_text(description, what="The description")
    if session.exec(select(Portfolio).where(Portfolio.name == name)).first() is not None:
        raise Conflict(f"A portfolio named {name!r} already exists.")
    return portfolio_view(_create(session, name=name, currency=currency, description=description, cost_basis=cost_basis), 0)


def _create(session: Session, *, name: str, currency: str, description: str, cost_basis: str = "average") -> Portfolio:
    now = utcnow()
    row = Portfolio(id=new_id("portfolio"), name=name, currency=currency, description=description, cost_basis=cost_basis,
                    created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    record_event(session, "portfolio_created", f"portfolio {name} created",
                 data={"name": name, "currency": currency, "cost_basis": cost_basis})
    return row


def set_cost_basis(session: Session, *, name: str, cost_basis: str) -> dict[str, Any]:
    """Change a portfolio's cost basis method and re-derive every position of it (SPEC §8.3)."""
    from vbcli.services.ledger import timeline

    row = refs.portfolio_by_name(session, name)
    old = row.cost_basis or "average"
    if old != cost_basis:
        row.cost_basis = cost_basis
        row.updated_at = utcnow()
        session.add(row)
        session.flush()
        record_event(session, "portfolio_updated", f"portfolio {row.name} cost basis {old} → {cost_basis}",
                     data={"name": row.name, "cost_basis": {"old": old, "new": cost_basis}})
        for position in session.exec(select(Position).where(Position.portfolio_id == row.id).order_by(Position.id)).all():
            timeline.rederive(session, position, None, cause="cost_basis", always_report=True)
    return show(session, name=row.name)


def list_all(session: Session) -> list[dict[str, Any]]:
    counts = dict(
        session.exec(
            select(Position.portfolio_id, func.count()).where(Position.status == "open").group_by(Position.portfolio_id)
        ).all()
    )
    rows = session.exec(select(Portfolio).order_by(Portfolio.name)).all()
    return [portfolio_view(r, counts.get(r.id, 0)) for r in rows]


def show(session: Session, *, name: str) -> dict[str, Any]:
    row = refs.portfolio_by_name(session, name)
    count = session.exec(select(func.count()).select_from(Position).where(Position.portfolio_id == row.id, Position.status == "open")).one()
    return portfolio_view(row, count)


def remove(session: Session, *, name: str) -> dict[str, Any]:
    row = refs.portfolio_by_name(session, name)
    if row.name == DEFAULT_PORTFOLIO:
        raise Conflict("The default portfolio cannot be removed.")
    used = session.exec(select(func.count()).select_from(Position).where(Position.portfolio_id == row.id)).one()
    if used:
        raise Conflict(f"Portfolio {row.name!r} still has {used} position(s), open or closed; it can only be removed when empty.")
    view = portfolio_view(row, 0)
    session.delete(row)
    record_event(session, "portfolio_removed", f"portfolio {row.name} removed", data={"name": row.name})
    return view
