"""The facts of a position's timeline (SPEC §8.1) and the errors a replay of them raises.

Every fact is a frozen value with an effective time `at` (UTC) and a record sequence `seq`
(the order in which it was recorded). A replay applies facts sorted by `sort_key`:
effective time, then a phase (start-of-day actions before anything else at the same
instant), then record order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

OPENING_LOT = "opening"  # lot id of the shares a position is opened with

# Phases break ties at one instant: a split at the start of D applies before a dividend whose
# ex-date is D (per_share is quoted in the shares that trade on D), and both before any fill
# at exactly 00:00 of D (a fill on the ex-date carries no entitlement).
_PHASE_OPENING, _PHASE_SPLIT, _PHASE_EX, _PHASE_OTHER = 0, 1, 2, 3


def start_of(day: date) -> datetime:
    """00:00 UTC of a date: the effective time of an ex-date or a split."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def iso(at: datetime) -> str:
    """An instant as 2026-11-10T09:30:00Z (the form error sentences name)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + (f".{at.microsecond:06d}" if at.microsecond else "") + "Z"


@dataclass(frozen=True, kw_only=True)
class Opening:
    """The opening of a position: its shares form one lot at `cost_per_share`."""

    at: datetime
    qty: Decimal
    cash: Decimal
    cost_per_share: Decimal  # --avg-cost, else the anchor
    anchor: Decimal
    seq: int = 0

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _PHASE_OPENING, self.seq)


@dataclass(frozen=True, kw_only=True)
class Deposit:
    amount: Decimal
    at: datetime
    seq: int

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _PHASE_OTHER, self.seq)


@dataclass(frozen=True, kw_only=True)
class Withdrawal:
    amount: Decimal
    at: datetime
    seq: int

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _PHASE_OTHER, self.seq)


@dataclass(frozen=True)
class LotPick:
    """A sell's named lot (`--lot TRADE[:QTY]`); qty None = what is open of it, up to the sell."""

    lot_id: str
    qty: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class Fill:
    """An executed trade. A voided trade is simply left out of the facts."""

    trade_id: str
    side: str  # "buy" | "sell"
    qty: Decimal
    price: Decimal
    commission: Decimal
    at: datetime
    seq: int
    lots: tuple[LotPick, ...] = ()
    cash_amount: Decimal | None = None  # the cash it moved as recorded; None: q·P half-up to the minor unit

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _PHASE_OTHER, self.seq)


@dataclass(frozen=True, kw_only=True)
class DividendEx:
    """The ex-date of a dividend: entitled are the shares held at the end of the day before."""

    dividend_id: str
    per_share: Decimal
    withholding: Decimal
    ex_date: date
    seq: int

    @property
    def at(self) -> datetime:
        return start_of(self.ex_date)

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _PHASE_EX, self.seq)


@dataclass(frozen=True, kw_only=True)
class DividendPay:
    """Payment of a dividend: its receivable moves to cash."""

    dividend_id: str
    at: datetime
    seq: int

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _PHASE_OTHER, self.seq)


@dataclass(frozen=True, kw_only=True)
class Split:
    """A NEW:OLD split at the start of `on` (4:1 = four for one; 1:10 = reverse)."""

    split_id: str
    new: Decimal
    old: Decimal
    on: date
    seq: int

    @property
    def at(self) -> datetime:
        return start_of(self.on)

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _PHASE_SPLIT, self.seq)


@dataclass(frozen=True, kw_only=True)
class AnchorSet:
    """`positions set --anchor` or `evaluate --place` resetting the anchor, at its record time."""

    price: Decimal
    at: datetime
    seq: int

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _PHASE_OTHER, self.seq)


Fact = Opening | Deposit | Withdrawal | Fill | DividendEx | DividendPay | Split | AnchorSet


def sort_key(fact: Fact) -> tuple[datetime, int, int]:
    """The replay order of a fact: (effective time, phase, record sequence)."""
    return fact.sort_key()


class TimelineError(Exception):
    """A fact that cannot be applied where it falls in the timeline.

    `at` is the effective time of the failing fact, `kind` a stable word the service maps to
    an exit code, `fact` the fact itself; str(error) is one plain sentence naming `at`.
    """

    kind = "timeline"

    def __init__(self, message: str, *, at: datetime, fact: Fact | None = None, kind: str | None = None) -> None:
        super().__init__(message)
        self.at = at
        self.fact = fact
        if kind is not None:
            self.kind = kind


class NegativeBalance(TimelineError):
    """qty (kind "qty") or cash (kind "cash") would go negative at `at` (service: exit 5)."""

    def __init__(self, message: str, *, at: datetime, fact: Fact, kind: str, needed: Decimal, available: Decimal) -> None:
        super().__init__(message, at=at, fact=fact, kind=kind)
        self.needed = needed
        self.available = available


class LotSelectionError(TimelineError):
    """A named lot is unknown, closed, or short of the quantity (kind "lot")."""

    kind = "lot"


class SplitNotExact(TimelineError):
    """qty × NEW/OLD is not a finite decimal (kind "split"); vb pays no cash-in-lieu."""

    kind = "split"


class DividendNotEx(TimelineError):
    """A payment before its dividend's ex-date was applied (kind "dividend")."""

    kind = "dividend"
