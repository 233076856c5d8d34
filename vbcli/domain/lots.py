"""Cost basis and lots (SPEC §8.3): a mutable book of open lots, closed by a method.

Methods: `average` (the §3 pool: a sell removes cost C·q/Q; lots still carry quantities and
acquisition times, consumed first-in-first-out, so gains have a term), `fifo`, `lifo` and
`hifo` (highest cost per share first, earliest acquired on ties). A sell may name lots first
(specific identification); whatever it leaves is closed by the method.

Finding the next lot is O(1) amortised for fifo/lifo (deque/stack) and O(log n) for hifo
(heap keyed by cost per share); closed lots are dropped from those lazily.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from vbcli.domain.facts import LotPick
from vbcli.domain.numbers import CONTEXT, ZERO, normalize, round_avg_cost

METHODS = ("average", "fifo", "lifo", "hifo")

# q·P of a 12-decimal quantity and a 12-decimal price has at most 24 decimals, so every exact
# buy cost is representable; a share of a cost that is not is rounded half-even here, and the
# remainder stays in the open cost (nothing drifts: closing the last share takes all of it).
COST_DECIMALS = 24
_COST_QUANTUM = Decimal(1).scaleb(-COST_DECIMALS)


def cost_share(total: Decimal, whole: Decimal, part: Decimal) -> Decimal:
    """The cost of `part` of `whole` shares costing `total`: the one place costs are rounded."""
    if part == whole:
        return total
    with localcontext(CONTEXT):
        return normalize((total * part / whole).quantize(_COST_QUANTUM, rounding=ROUND_HALF_EVEN))


@dataclass
class Lot:
    """An open lot (mutable inside the book). `cost` is its exact total cost; `key` its
    cost per share when opened (hifo order; a split scales every lot alike, so keys keep)."""

    lot_id: str
    acquired_at: datetime
    qty: Decimal
    cost: Decimal
    key: Decimal
    seq: int


@dataclass(frozen=True)
class OpenLot:
    lot_id: str
    acquired_at: datetime
    qty: Decimal
    cost: Decimal  # exact total cost of the open shares
    cost_per_share: Decimal  # cost / qty, 10 decimals half-even (display)


@dataclass(frozen=True)
class Take:
    """Shares taken from one lot by a sell, with the cost they carry."""

    lot_id: str
    acquired_at: datetime
    qty: Decimal
    cost: Decimal


class LotBook:
    """The open lots of one position and its cost basis under one method."""

    def __init__(self, method: str = "average") -> None:
        if method not in METHODS:
            raise ValueError(f"unknown cost basis method {method!r}")
        self.method = method
        self.qty = ZERO
        self.cost = ZERO  # the cost basis: exact total cost of the open shares
        self.lots: dict[str, Lot] = {}
        self.closed: set[str] = set()
        self._order: deque[str] = deque()  # fifo/average: popleft; lifo: pop
        self._heap: list[tuple[Decimal, int, str]] = []  # hifo: (-key, seq, lot_id)
        self._seq = 0

    def open(self, lot_id: str, acquired_at: datetime, qty: Decimal, cost_per_share: Decimal) -> None:
        """Open a lot of `qty` shares at `cost_per_share` (commission excluded, SPEC §3)."""
        with localcontext(CONTEXT):
            cost = qty * cost_per_share
            self._add(Lot(lot_id, acquired_at, qty, cost, cost_per_share, self._seq))
            self.qty += qty
            self.cost += cost

    def _add(self, lot: Lot) -> None:
        self._seq = max(self._seq, lot.seq) + 1
        self.lots[lot.lot_id] = lot
        if self.method == "hifo":
            heapq.heappush(self._heap, (-lot.key, lot.seq, lot.lot_id))
        else:
            self._order.append(lot.lot_id)

    def check_picks(self, qty: Decimal, picks: tuple[LotPick, ...]) -> str | None:
        """Why the named lots cannot serve a sell of `qty` (one sentence), or None."""
        wanted: dict[str, Decimal] = {}
        left = qty
        for pick in picks:
            lot = self.lots.get(pick.lot_id)
            if lot is None:
                if pick.lot_id in self.closed:
                    return f"lot {pick.lot_id} is already closed."
                return f"{pick.lot_id} is not a lot of this position."
            free = lot.qty - wanted.get(pick.lot_id, ZERO)
            take = pick.qty if pick.qty is not None else min(free, left)
            if take > free:
                return f"lot {pick.lot_id} has {normalize(free)} shares left, fewer than the {normalize(take)} named."
            if take > left:
                return f"the named lots add up to more than the {normalize(qty)} shares sold."
            wanted[pick.lot_id] = wanted.get(pick.lot_id, ZERO) + take
            left -= take
        return None

    def close(self, qty: Decimal, picks: tuple[LotPick, ...] = ()) -> list[Take]:
        """Close `qty` shares: the named lots first (validated by check_picks), then by method."""
        with localcontext(CONTEXT):
            removed = cost_share(self.cost, self.qty, qty) if self.method == "average" else None
            takes: list[Take] = []
            left = qty
            for pick in picks:
                lot = self.lots[pick.lot_id]
                take = pick.qty if pick.qty is not None else min(lot.qty, left)
                if take > 0:
                    takes.append(self._take(lot, take))
                    left -= take
            while left > 0:
                lot = self._next()
                take = min(lot.qty, left)
                takes.append(self._take(lot, take))
                left -= take
            if removed is not None:
                takes = _spread(takes, removed, qty)
            self.qty -= qty
            self.cost = ZERO if self.qty == 0 else self.cost - sum((t.cost for t in takes), ZERO)
            return takes

    def _take(self, lot: Lot, qty: Decimal) -> Take:
        cost = cost_share(lot.cost, lot.qty, qty)
        lot.qty -= qty
        lot.cost -= cost
        if lot.qty == 0:
            del self.lots[lot.lot_id]
            self.closed.add(lot.lot_id)
        return Take(lot.lot_id, lot.acquired_at, qty, cost)

    def _next(self) -> Lot:
        if self.method == "hifo":
            while self._heap[0][2] not in self.lots:
                heapq.heappop(self._heap)
            return self.lots[self._heap[0][2]]
        if self.method == "lifo":
            while self._order[-1] not in self.lots:
                self._order.pop()
            return self.lots[self._order[-1]]
        while self._order[0] not in self.lots:
            self._order.popleft()
        return self.lots[self._order[0]]

    def split(self, new: Decimal, old: Decimal) -> None:
        """Scale every lot's qty × NEW/OLD (exactness checked by the caller); costs keep."""
        with localcontext(CONTEXT):
            for lot in self.lots.values():
                lot.qty = normalize(lot.qty * new / old)
            self.qty = normalize(self.qty * new / old)

    def avg_cost(self) -> Decimal | None:
        """cost / qty to 10 decimals half-even (numbers.round_avg_cost); None when flat."""
        if self.qty == 0:
            return None
        with localcontext(CONTEXT):
            return round_avg_cost(self.cost / self.qty)

    def open_lots(self) -> list[OpenLot]:
        """Open lots in acquisition order; under `average` each carries its share of the pool."""
        lots = sorted(self.lots.values(), key=lambda lot: lot.seq)
        out: list[OpenLot] = []
        pool_cost, pool_qty = self.cost, self.qty
        with localcontext(CONTEXT):
            for lot in lots:
                cost = cost_share(pool_cost, pool_qty, lot.qty) if self.method == "average" else lot.cost
                pool_cost, pool_qty = pool_cost - cost, pool_qty - lot.qty
                out.append(OpenLot(lot.lot_id, lot.acquired_at, lot.qty, normalize(cost), round_avg_cost(cost / lot.qty)))
        return out

    def snapshot(self) -> dict:
        """A JSON-serialisable copy of the book."""
        lots = sorted(self.lots.values(), key=lambda lot: lot.seq)
        return {
            "method": self.method,
            "qty": str(self.qty),
            "cost": str(self.cost),
            "lots": [[lot.lot_id, lot.acquired_at.isoformat(), str(lot.qty), str(lot.cost), str(lot.key), lot.seq] for lot in lots],
            "closed": sorted(self.closed),
            "next_seq": self._seq,
        }

    @classmethod
    def from_snapshot(cls, data: dict) -> LotBook:
        book = cls(data["method"])
        book.qty, book.cost = Decimal(data["qty"]), Decimal(data["cost"])
        for lot_id, acquired, qty, cost, key, seq in data["lots"]:
            book._add(Lot(lot_id, datetime.fromisoformat(acquired), Decimal(qty), Decimal(cost), Decimal(key), seq))
        book.closed = set(data["closed"])
        book._seq = data["next_seq"]
        return book


def _spread(takes: list[Take], removed: Decimal, qty: Decimal) -> list[Take]:
    """Under `average`, give each take its share of the pooled cost removed (remainder last)."""
    out: list[Take] = []
    left_cost, left_qty = removed, qty
    for take in takes:
        cost = cost_share(left_cost, left_qty, take.qty)
        left_cost, left_qty = left_cost - cost, left_qty - take.qty
        out.append(Take(take.lot_id, take.acquired_at, take.qty, cost))
    return out


def one_year_after(day: date) -> date:
    """The same day a year later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def holding_term(acquired_at: datetime, sold_at: datetime) -> str:
    """`long` when sold more than one year after acquisition (one year and one day, UTC dates), else `short`."""
    return "long" if sold_at.astimezone(UTC).date() > one_year_after(acquired_at.astimezone(UTC).date()) else "short"
