"""Replay of a position's facts in effective-time order (SPEC §8.1–8.3, §3 revision 2).

`replay(facts)` sorts the facts by `facts.sort_key` and applies them one at a time to a
`PositionState`; `apply(state, fact)` is that one step (the append case, O(1) amortised).
A back-dated write resumes from a stored checkpoint: `replay(later_facts, start=snapshot)`.
Per-fact results (each fill's realized P&L and anchor_before, each sell's closed lot pieces,
each dividend's amounts, each split's effect) are outputs of the replay, not part of the
state, so a checkpoint stays as small as the open lots.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext

from vbcli.domain.accounting import dividend_amounts
from vbcli.domain.facts import (
    OPENING_LOT, AnchorSet, Deposit, DividendEx, DividendNotEx, DividendPay, Fact, Fill, LotSelectionError,
    NegativeBalance, Opening, Split, Withdrawal, iso, sort_key,
)
from vbcli.domain.lots import LotBook, cost_share
from vbcli.domain.numbers import CONTEXT, ZERO, fmt, normalize, round_money
from vbcli.domain.splits import scale_price, scale_qty


@dataclass(frozen=True)
class ClosedPiece:
    """One (sell, lot) pair of the gains report; gain = proceeds − cost."""

    sell_trade_id: str
    lot_id: str
    acquired_at: datetime  # exact: the service decides `long` (more than one year) or `short`
    sold_at: datetime
    qty: Decimal
    proceeds: Decimal  # qty·P less this piece's share of the commission
    cost: Decimal
    gain: Decimal


@dataclass(frozen=True)
class FillOutcome:
    trade_id: str
    notional: Decimal  # q·P exact
    cash_amount: Decimal  # q·P half-up to the currency's minor unit
    realized_pnl: Decimal  # sell: q·P − cost removed − c; buy: 0
    anchor_before: Decimal
    pieces: tuple[ClosedPiece, ...] = ()


@dataclass(frozen=True)
class DividendOutcome:
    dividend_id: str
    entitled_qty: Decimal  # shares held at the end of the day before the ex-date
    gross: Decimal
    tax: Decimal
    net: Decimal
    anchor_before: Decimal
    anchor_after: Decimal


@dataclass(frozen=True)
class SplitOutcome:
    split_id: str
    qty_before: Decimal
    qty_after: Decimal
    anchor_before: Decimal
    anchor_after: Decimal


Outcome = FillOutcome | DividendOutcome | SplitOutcome


@dataclass
class PositionState:
    """Everything a replay needs to continue; `snapshot()` makes a JSON-able checkpoint."""

    currency: str = "USD"
    book: LotBook = field(default_factory=LotBook)
    cash: Decimal = ZERO
    anchor: Decimal = ZERO
    receivable: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    total_commission: Decimal = ZERO
    total_dividends: Decimal = ZERO
    pending: dict[str, Decimal] = field(default_factory=dict)  # dividend id → net not yet paid
    paid: set[str] = field(default_factory=set)
    splits: set[str] = field(default_factory=set)
    last_key: tuple[datetime, int, int] | None = None  # sort key of the last fact applied

    @property
    def qty(self) -> Decimal:
        return self.book.qty

    @property
    def cost_basis(self) -> Decimal:
        return self.book.cost

    @property
    def avg_cost(self) -> Decimal | None:
        return self.book.avg_cost()

    def snapshot(self) -> dict:
        money = ("cash", "anchor", "receivable", "realized_pnl", "total_commission", "total_dividends")
        data: dict = {name: str(getattr(self, name)) for name in money}
        data.update(
            currency=self.currency,
            book=self.book.snapshot(),
            pending={k: str(v) for k, v in self.pending.items()},
            paid=sorted(self.paid),
            splits=sorted(self.splits),
            last_key=None if self.last_key is None else [self.last_key[0].isoformat(), self.last_key[1], self.last_key[2]],
        )
        return data

    @classmethod
    def from_snapshot(cls, data: dict) -> PositionState:
        money = ("cash", "anchor", "receivable", "realized_pnl", "total_commission", "total_dividends")
        key = data["last_key"]
        return cls(
            currency=data["currency"],
            book=LotBook.from_snapshot(data["book"]),
            pending={k: Decimal(v) for k, v in data["pending"].items()},
            paid=set(data["paid"]),
            splits=set(data["splits"]),
            last_key=None if key is None else (datetime.fromisoformat(key[0]), key[1], key[2]),
            **{name: Decimal(data[name]) for name in money},
        )


@dataclass(frozen=True)
class Replay:
    state: PositionState
    fills: dict[str, FillOutcome]
    dividends: dict[str, DividendOutcome]
    splits: dict[str, SplitOutcome]

    @property
    def gains(self) -> list[ClosedPiece]:
        """Every closed piece, in replay order."""
        return [piece for outcome in self.fills.values() for piece in outcome.pieces]


def new_state(method: str = "average", currency: str = "USD") -> PositionState:
    """An empty position (before its Opening fact) under a cost basis method."""
    return PositionState(currency=currency, book=LotBook(method))


def replay(
    facts: Iterable[Fact],
    *,
    method: str = "average",
    currency: str = "USD",
    start: PositionState | dict | None = None,
    until: datetime | None = None,
) -> Replay:
    """Apply facts in (effective time, phase, record seq) order; stop before `until` if given.

    `start` is a checkpoint (state or snapshot; it is copied, never changed); every fact must
    then sort after its `last_key`. Raises a TimelineError at the first fact that fails.
    """
    if start is None:
        state = new_state(method, currency)
    else:
        state = PositionState.from_snapshot(start if isinstance(start, dict) else start.snapshot())
    result = Replay(state, {}, {}, {})
    for fact in sorted(facts, key=sort_key):
        if until is not None and fact.at >= until:
            break
        outcome = apply(state, fact)
        if isinstance(outcome, FillOutcome):
            result.fills[outcome.trade_id] = outcome
        elif isinstance(outcome, DividendOutcome):
            result.dividends[outcome.dividend_id] = outcome
        elif isinstance(outcome, SplitOutcome):
            result.splits[outcome.split_id] = outcome
    return result


def apply(state: PositionState, fact: Fact) -> Outcome | None:
    """Apply one fact (it must sort after the state's last fact). On error, discard the state."""
    key = sort_key(fact)
    if state.last_key is not None and key <= state.last_key:
        raise ValueError(f"fact {key} does not sort after the state's last fact {state.last_key}")
    with localcontext(CONTEXT):
        outcome = _HANDLERS[type(fact)](state, fact)
    state.last_key = key
    return outcome


def _opening(state: PositionState, fact: Opening) -> None:
    state.cash, state.anchor = fact.cash, fact.anchor
    if fact.qty > 0:
        state.book.open(OPENING_LOT, fact.at, fact.qty, fact.cost_per_share)


def _deposit(state: PositionState, fact: Deposit) -> None:
    state.cash += fact.amount


def _withdrawal(state: PositionState, fact: Withdrawal) -> None:
    if fact.amount > state.cash:
        raise NegativeBalance(
            f"Not enough cash at {iso(fact.at)}: withdrawing {fmt(fact.amount)} but the position has {fmt(state.cash)} then.",
            at=fact.at, fact=fact, kind="cash", needed=fact.amount, available=state.cash,
        )
    state.cash -= fact.amount


def _fill(state: PositionState, fact: Fill) -> FillOutcome:
    notional = normalize(fact.qty * fact.price)
    amount = round_money(notional, state.currency) if fact.cash_amount is None else fact.cash_amount
    anchor_before = state.anchor
    if fact.side == "buy":
        needed = amount + fact.commission
        if needed > state.cash:
            raise NegativeBalance(
                f"Not enough cash at {iso(fact.at)}: buying {fmt(fact.qty)} at {fmt(fact.price)} costs {fmt(needed)} "
                f"with commission but the position has {fmt(state.cash)} then.",
                at=fact.at, fact=fact, kind="cash", needed=needed, available=state.cash,
            )
        state.book.open(fact.trade_id, fact.at, fact.qty, fact.price)
        state.cash -= needed
        realized, pieces = ZERO, ()
    else:
        realized, pieces = _sell(state, fact, notional, amount)
    state.total_commission += fact.commission
    state.anchor = fact.price
    return FillOutcome(fact.trade_id, notional, amount, realized, anchor_before, pieces)


def _sell(state: PositionState, fact: Fill, notional: Decimal, amount: Decimal) -> tuple[Decimal, tuple[ClosedPiece, ...]]:
    if fact.qty > state.qty:
        raise NegativeBalance(
            f"Not enough shares at {iso(fact.at)}: selling {fmt(fact.qty)} but the position holds {fmt(state.qty)} then.",
            at=fact.at, fact=fact, kind="qty", needed=fact.qty, available=state.qty,
        )
    if state.cash + amount - fact.commission < 0:
        raise NegativeBalance(
            f"Not enough cash at {iso(fact.at)}: the commission {fmt(fact.commission)} exceeds the cash the sale "
            f"and the position provide ({fmt(state.cash + amount)}).",
            at=fact.at, fact=fact, kind="cash", needed=fact.commission, available=state.cash + amount,
        )
    problem = state.book.check_picks(fact.qty, fact.lots)
    if problem is not None:
        raise LotSelectionError(f"Cannot sell {fact.trade_id} at {iso(fact.at)}: {problem}", at=fact.at, fact=fact)
    takes = state.book.close(fact.qty, fact.lots)
    pieces: list[ClosedPiece] = []
    fee_left, qty_left = fact.commission, fact.qty
    for take in takes:
        fee = cost_share(fee_left, qty_left, take.qty)  # the commission spread, remainder on the last piece
        fee_left, qty_left = fee_left - fee, qty_left - take.qty
        proceeds = normalize(take.qty * fact.price - fee)
        pieces.append(ClosedPiece(fact.trade_id, take.lot_id, take.acquired_at, fact.at, take.qty, proceeds, take.cost, normalize(proceeds - take.cost)))
    realized = normalize(sum((piece.gain for piece in pieces), ZERO))
    state.cash += amount - fact.commission
    state.realized_pnl = normalize(state.realized_pnl + realized)
    return realized, tuple(pieces)


def _dividend_ex(state: PositionState, fact: DividendEx) -> DividendOutcome | None:
    if fact.dividend_id in state.pending or fact.dividend_id in state.paid:
        return None  # applying the same dividend twice changes nothing
    amounts = dividend_amounts(state.qty, fact.per_share, fact.withholding, state.currency)
    before = state.anchor
    state.anchor = normalize(before - fact.per_share)
    state.receivable = normalize(state.receivable + amounts.net)
    state.pending[fact.dividend_id] = amounts.net
    return DividendOutcome(fact.dividend_id, state.qty, normalize(amounts.gross), amounts.tax, normalize(amounts.net), before, state.anchor)


def _dividend_pay(state: PositionState, fact: DividendPay) -> None:
    if fact.dividend_id in state.paid:
        return
    if fact.dividend_id not in state.pending:
        raise DividendNotEx(f"Dividend {fact.dividend_id} is paid at {iso(fact.at)}, before its ex-date.", at=fact.at, fact=fact)
    net = state.pending.pop(fact.dividend_id)
    state.paid.add(fact.dividend_id)
    state.receivable = normalize(state.receivable - net)
    state.cash += net
    state.total_dividends += net


def _split(state: PositionState, fact: Split) -> SplitOutcome | None:
    if fact.split_id in state.splits:
        return None
    before_qty, before_anchor = state.qty, state.anchor
    for qty in [state.qty, *(lot.qty for lot in state.book.lots.values())]:
        scale_qty(qty, fact, what="the position")  # refuses before anything changes
    state.book.split(fact.new, fact.old)
    state.anchor = scale_price(state.anchor, fact.new, fact.old)
    state.splits.add(fact.split_id)
    return SplitOutcome(fact.split_id, before_qty, state.qty, before_anchor, state.anchor)


def _anchor_set(state: PositionState, fact: AnchorSet) -> None:
    state.anchor = fact.price


_HANDLERS = {
    Opening: _opening, Deposit: _deposit, Withdrawal: _withdrawal, Fill: _fill, DividendEx: _dividend_ex,
    DividendPay: _dividend_pay, Split: _split, AnchorSet: _anchor_set,
}
