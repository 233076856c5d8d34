"""Beancount lots (SPEC §8.3): positions of a fifo, lifo or hifo portfolio are written with lots at cost.

A buy (and the opening shares) becomes a lot `{cost per share, date, "lot id"}`; a sell is
posted at its price, the shares leave at the cost beancount books, and vb's gain goes to the
position's Realized-PnL account, so the transaction balances only when beancount's booking
closes the lots vb closed. Each shares account is opened with its booking method, so
`bean-check` re-books every sell by it. A sell that names lots, or that beancount's method
would book otherwise (two lots of one day under LIFO: beancount knows dates, not times), names
each lot by its label. `average` has no beancount booking: those positions keep `@@` totals.
A split exchanges each open lot for the same lot in new shares at the same total cost
(`{{total}}`); where the new cost per share is not a finite decimal (3:1 of a 10.00 lot) beancount
holds it to 28 digits, hence a tolerance of 0.000001 in the cost currency (OPTIONS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from vbcli.domain import timeline as tl
from vbcli.domain.facts import OPENING_LOT
from vbcli.domain.numbers import CONTEXT, ZERO, normalize
from vbcli.store.history import load_history

BOOKING = {"fifo": "FIFO", "lifo": "LIFO", "hifo": "HIFO"}
ROUNDING = "Equity:VB:Rounding"  # q·P less the cash it moved (half a cent at most), on buys
OPTIONS = '\noption "inferred_tolerance_default" "*:0.000001"\n'


@dataclass
class Lot:
    day: date
    qty: Decimal
    total: Decimal  # the lot's total cost

    @property
    def cost(self) -> Decimal:
        """Cost per share (HIFO's order)."""
        return CONTEXT.divide(self.total, self.qty)


class LotBook:
    """The lots of one position as the journal has written them, in the order beancount holds them."""

    def __init__(self, method: str, pieces: dict[str, tuple[tl.ClosedPiece, ...]]) -> None:
        self.method = method
        self.booking = BOOKING[method]
        self.pieces = pieces  # sell trade id → the pieces vb's replay closed
        self.lots: dict[str, Lot] = {}

    def method_order(self, qty: Decimal) -> list[tuple[str, Decimal]]:
        """What beancount's booking method takes for `qty` shares (its sort is stable: ties keep file order)."""
        if self.method == "hifo":
            order = sorted(self.lots.items(), key=lambda item: item[1].cost, reverse=True)
        else:
            order = sorted(self.lots.items(), key=lambda item: item[1].day, reverse=self.method == "lifo")
        taken, left = [], qty
        for lot_id, lot in order:
            if left <= 0:
                break
            take = min(lot.qty, left)
            taken.append((lot_id, take))
            left -= take
        return taken

    def take(self, lot_id: str, qty: Decimal, cost: Decimal) -> None:
        lot = self.lots[lot_id]
        lot.qty -= qty
        lot.total -= cost
        if lot.qty == 0:
            del self.lots[lot_id]


def lot_books(session: Session, books: dict[str, Any]) -> None:
    """Give every book of a fifo, lifo or hifo portfolio its LotBook (the replay's closed pieces per sell)."""
    for book in books.values():
        if book.method not in BOOKING:
            continue
        history = load_history(session.connection(), book.row, None)
        replay = tl.replay(history.facts, method=book.method, currency=book.currency)
        book.lots = LotBook(book.method, {trade_id: outcome.pieces for trade_id, outcome in replay.fills.items()})


def _spec(writer: Any, cost: Decimal, day: date, label: str, currency: str) -> str:
    return f'{{{writer.amount(cost, currency)}, {day.isoformat()}, "{label}"}}'


def opening(writer: Any, book: Any, at: Any) -> str:
    """The opening shares as one lot at the opening cost."""
    row = book.row
    cost = row.opening_avg_cost or ZERO
    book.lots.lots[OPENING_LOT] = Lot(at.date(), row.opening_qty, CONTEXT.multiply(row.opening_qty, cost))
    return f"{writer.amount(row.opening_qty, book.unit)} {_spec(writer, cost, at.date(), OPENING_LOT, book.currency)}"


def buy(writer: Any, book: Any, t: Any, amount: Decimal) -> list[tuple[str, str, str]]:
    """A new lot at the fill price; the sub-cent difference to the cash it moved goes to Equity:VB:Rounding."""
    book.lots.lots[t.id] = Lot(t.executed_at.date(), t.qty, t.notional)
    shares = f"{writer.amount(t.qty, book.unit)} {_spec(writer, t.price, t.executed_at.date(), t.id, book.currency)}"
    postings = [(book.accounts["shares"], shares, "")]
    residual = normalize(t.notional - amount)
    if residual:
        postings.append((ROUNDING, writer.amount(-residual, book.currency), ""))
    return postings


def sell(writer: Any, book: Any, t: Any, amount: Decimal) -> tuple[list[tuple[str, str, str]], Decimal]:
    """The shares leaving (booked by the method, or by label), and the gain before commission: cash − vb's cost."""
    lots: LotBook = book.lots
    pieces = lots.pieces.get(t.id, ())
    closed = [(piece.lot_id, piece.qty) for piece in pieces]
    price = f"@ {writer.amount(t.price, book.currency)}"
    if not t.lots and closed == lots.method_order(t.qty):
        postings = [(book.accounts["shares"], f"{writer.amount(-t.qty, book.unit)} {{}} {price}", "")]
    else:
        postings = [(book.accounts["shares"], f'{writer.amount(-qty, book.unit)} {{"{lot_id}"}} {price}', "")
                    for lot_id, qty in closed]
    for piece in pieces:
        lots.take(piece.lot_id, piece.qty, piece.cost)
    cost = sum((piece.cost for piece in pieces), ZERO)
    return postings, normalize(amount - cost)


def split(writer: Any, book: Any, new: Decimal, old: Decimal) -> list[tuple[str, str, str]]:
    """Each open lot out (by its label) and back in new shares at the same total cost (same day, same label)."""
    postings = []
    for lot_id, lot in list(book.lots.lots.items()):
        qty = normalize(CONTEXT.divide(CONTEXT.multiply(lot.qty, new), old))
        total = f'{{{{{writer.amount(lot.total, book.currency)}, {lot.day.isoformat()}, "{lot_id}"}}}}'
        postings.append((book.accounts["shares"], f'{writer.amount(-lot.qty, book.unit)} {{"{lot_id}"}}', ""))
        postings.append((book.accounts["shares"], f"{writer.amount(qty, book.unit)} {total}", ""))
        book.lots.lots[lot_id] = Lot(lot.day, qty, lot.total)
    return postings


def open_suffix(book: Any, account: str) -> str:
    """` "FIFO"` on the open directive of a lot-booked shares account."""
    return f' {book.unit} "{book.lots.booking}"' if book.lots is not None and account == book.accounts["shares"] else ""

