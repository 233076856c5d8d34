"""The ledger as a function of its timeline (SPEC §8.1): load facts, replay, store what changed.

Every write that adds, removes or changes a fact calls `rederive(session, position, since,
extra=…)` in its transaction. It resumes from the last checkpoint before `since` (a snapshot
every CHECKPOINT_EVERY facts, in `position_checkpoints`), replays the stored facts after it
together with the caller's new facts (`extra`, not yet stored), and writes the position's
figures and every stored trade or dividend figure the replay changed. An append (the new
facts sort after every other fact) therefore costs at most CHECKPOINT_EVERY facts; a
back-dated write costs the facts after it, and records a `position_rederived` event listing
what changed. A fact that cannot stand where it falls (qty or cash negative at some time) is
refused with the first such time, and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

from vbcli.domain import timeline as tl
from vbcli.domain.facts import DividendNotEx, Fact, LotSelectionError, TimelineError, iso, sort_key
from vbcli.domain.ids import new_id
from vbcli.domain.rederive import POSITION_FIELDS, diff_figures, position_figures
from vbcli.errors import Conflict, Refused
from vbcli.services.shared.audit import record_event
from vbcli.store.history import History, load_history
from vbcli.store.tables import Dividend, Portfolio, Position, PositionCheckpoint, Trade

CHECKPOINT_EVERY = 128  # facts between snapshots: an append replays at most this many
LISTED_CHANGES = 100  # a position_rederived event lists this many changed trades, then counts


@dataclass
class Rederived:
    """What one re-derivation found: the replay's outcomes and the stored figures it changed."""

    replay: tl.Replay
    appended: bool  # the new facts sort after every other fact (nothing else could change)
    position: dict[str, dict[str, Any]] = field(default_factory=dict)  # field → {old, new}
    trades: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # id → field → {old, new}
    dividends: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    facts: int = 0  # facts replayed
    after: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # new fill → (qty, cash) right after it


def settings_of(session: Session, position: Position) -> tuple[str, str]:
    """(cost basis method, currency) of the position's portfolio."""
    owner = session.get(Portfolio, position.portfolio_id)
    return (owner.cost_basis, owner.currency) if owner else ("average", "USD")


def anchor_value(value: Decimal) -> Decimal | None:
    """The replay's anchor as stored: none when there is no positive price (a position opened without one)."""
    return value if value > 0 else None


def refusal(error: TimelineError) -> Refused | Conflict:
    """The user's error for a fact that cannot stand on the timeline (SPEC §8.1: exit 5; a named lot
    that is closed, of another position or too small, and a payment before its ex-date: exit 4)."""
    message = str(error)
    refused = Conflict(message) if isinstance(error, (DividendNotEx, LotSelectionError)) else Refused(message)
    refused.fact = error.fact  # type: ignore[attr-defined]  # which fact failed (an import names its line)
    return refused


def rederive(
    session: Session,
    position: Position,
    since: datetime | None,
    *,
    extra: Sequence[Fact] = (),
    cause: str,
    always_report: bool = False,
) -> Rederived:
    """Replay `position` from `since` (None: from its opening) with the new facts `extra`; store the result."""
    method, currency = settings_of(session, position)
    start = _checkpoint_before(session, position.id, since)
    history = load_history(session.connection(), position, None if start is None else start.at)
    if start is not None:
        last = tl.PositionState.from_snapshot(json.loads(start.state)).last_key
        history.facts = [fact for fact in history.facts if last is None or sort_key(fact) > last]
    facts = sorted([*history.facts, *extra], key=sort_key)
    newest = {id(fact) for fact in extra}
    appended = all(id(fact) in newest for fact in facts[len(facts) - len(extra):]) if extra else False
    state = tl.PositionState.from_snapshot(json.loads(start.state)) if start else tl.new_state(method, currency)
    after: dict[str, tuple[Decimal, Decimal]] = {}
    replay = _replay(session, position, facts, state, start.facts if start else 0, (newest, after))
    result = Rederived(replay, appended, facts=len(facts), after=after)
    _store(session, position, history, result)
    if always_report or not appended:
        _report(session, position, since, cause, result)
    return result


def _checkpoint_before(session: Session, position_id: str, since: datetime | None) -> PositionCheckpoint | None:
    """The last snapshot strictly before `since`; later ones are dropped (the replay rewrites them)."""
    c = PositionCheckpoint
    if since is None:
        session.execute(delete(c).where(c.position_id == position_id))  # type: ignore[arg-type]
        return None
    session.execute(delete(c).where(c.position_id == position_id, c.at >= since))  # type: ignore[arg-type]
    return session.execute(select(c).where(c.position_id == position_id, c.at < since)  # type: ignore[arg-type]
                           .order_by(c.facts.desc()).limit(1)).scalars().first()  # type: ignore[attr-defined]


def _replay(session: Session, position: Position, facts: list[Fact], state: tl.PositionState, count: int,
            watch: tuple[set[int], dict[str, tuple[Decimal, Decimal]]]) -> tl.Replay:
    result = tl.Replay(state, {}, {}, {})
    snapshots: list[dict[str, Any]] = []
    try:
        for fact in facts:
            outcome = tl.apply(state, fact)
            if isinstance(outcome, tl.FillOutcome):
                result.fills[outcome.trade_id] = outcome
                if id(fact) in watch[0]:
                    watch[1][outcome.trade_id] = (state.qty, state.cash)
            elif isinstance(outcome, tl.DividendOutcome):
                result.dividends[outcome.dividend_id] = outcome
            elif isinstance(outcome, tl.SplitOutcome):
                result.splits[outcome.split_id] = outcome
            count += 1
            if count % CHECKPOINT_EVERY == 0:
                snapshots.append({"id": new_id("checkpoint"), "position_id": position.id, "at": fact.at, "facts": count,
                                  "state": json.dumps(state.snapshot(), separators=(",", ":"))})
    except TimelineError as error:
        raise refusal(error) from None
    if snapshots:
        session.execute(PositionCheckpoint.__table__.insert(), snapshots)  # type: ignore[attr-defined]
    return result


def _store(session: Session, position: Position, history: History, result: Rederived) -> None:
    state = result.replay.state
    derived = position_figures(state)
    derived["anchor"] = anchor_value(state.anchor)
    stored = {name: getattr(position, name) for name in POSITION_FIELDS}
    for change in diff_figures(stored, derived):
        result.position[change.field] = {"old": change.stored, "new": change.derived}
        setattr(position, change.field, change.derived)
    session.add(position)
    updates = []
    for trade_id, figures in history.trades.items():
        outcome = result.replay.fills.get(trade_id)
        if outcome is None:
            continue
        new = {"cash_amount": outcome.cash_amount, "realized_pnl": outcome.realized_pnl,
               "anchor_before": anchor_value(outcome.anchor_before)}
        changes = diff_figures(figures, new)
        if changes:
            result.trades[trade_id] = {c.field: {"old": c.stored, "new": c.derived} for c in changes}
            updates.append({"id": trade_id, **new})
    if updates:
        session.execute(update(Trade), updates)
    _store_dividends(session, history, result)


def _store_dividends(session: Session, history: History, result: Rederived) -> None:
    updates = []
    for dividend_id, figures in history.dividends.items():
        outcome = result.replay.dividends.get(dividend_id)
        if outcome is None:
            continue
        new = {"qty": outcome.entitled_qty, "gross": outcome.gross, "tax": outcome.tax, "net": outcome.net}
        changes = diff_figures(figures, new)
        if changes:
            result.dividends[dividend_id] = {c.field: {"old": c.stored, "new": c.derived} for c in changes}
            updates.append({"id": dividend_id, **new})
    if updates:
        session.execute(update(Dividend), updates)


def _report(session: Session, position: Position, since: datetime | None, cause: str, result: Rederived) -> None:
    listed = dict(list(result.trades.items())[:LISTED_CHANGES])
    what = [*result.position, *(f"{len(result.trades)} trade(s)" for _ in [0] if result.trades),
            *(f"{len(result.dividends)} dividend(s)" for _ in [0] if result.dividends)]
    frm = "its opening" if since is None else iso(since)
    record_event(session, "position_rederived",
                 f"{position.symbol} re-derived from {frm} ({cause}): " + (", ".join(what) if what else "nothing changed"),
                 position_id=position.id,
                 data={"since": since, "cause": cause, "facts_replayed": result.facts, "position": result.position,
                       "trades": listed, "trades_changed": len(result.trades), "dividends": result.dividends})


def replay_position(session: Session, position: Any) -> tuple[History, tl.Replay]:
    """The whole replay of a position from its stored facts, writing nothing (`db check`)."""
    method, currency = settings_of(session, position)
    history = load_history(session.connection(), position, None)
    return history, tl.replay(history.facts, method=method, currency=currency)



def first_refusal(session: Session, position: Any, extra: Sequence[Fact]) -> Refused | Conflict | None:
    """The error the new facts would meet on the timeline, writing nothing (an import lists every problem)."""
    method, currency = settings_of(session, position)
    try:
        tl.replay([*load_history(session.connection(), position, None).facts, *extra], method=method, currency=currency)
    except TimelineError as error:
        return refusal(error)
    return None
