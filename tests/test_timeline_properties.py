"""Properties of the replay over random timelines (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from vbcli.domain.facts import (
    AnchorSet, Deposit, DividendEx, DividendPay, Fill, LotPick, Opening, Split, TimelineError, Withdrawal, sort_key,
)
from vbcli.domain.lots import METHODS
from vbcli.domain.timeline import PositionState, apply, new_state, replay

START = datetime(2026, 11, 1, tzinfo=UTC)
RATIOS = [(2, 1), (1, 2), (3, 1), (1, 4), (5, 2), (2, 5)]

cents = st.integers(1, 20_000).map(lambda n: Decimal(n) / 100)
quantities = st.integers(1, 40).map(lambda n: Decimal(n) / 2)
moments = st.tuples(st.integers(0, 40), st.sampled_from([0, 9, 15]), st.sampled_from([0, 30])).map(
    lambda d: START + timedelta(days=d[0], hours=d[1], minutes=d[2])
)


@st.composite
def timelines(draw):
    """An opening and up to 25 facts in record order (seq = position in the list)."""
    qty = draw(st.sampled_from(["0", "10", "25.5"]))
    facts: list = [Opening(at=datetime(2026, 10, 1, 9, tzinfo=UTC), qty=Decimal(qty), cash=Decimal(draw(st.sampled_from(["500", "5000"]))),
                           cost_per_share=Decimal("10"), anchor=Decimal("10"), seq=0)]
    buys: list[str] = []
    for seq in range(1, draw(st.integers(0, 25)) + 1):
        kind = draw(st.sampled_from(["buy", "buy", "sell", "sell", "deposit", "withdraw", "anchor", "dividend", "split"]))
        at = draw(moments)
        if kind in ("buy", "sell"):
            picks: tuple = ()
            if kind == "sell" and buys and draw(st.booleans()):
                picks = (LotPick(draw(st.sampled_from(buys)), draw(st.one_of(st.none(), quantities))),)
            facts.append(Fill(trade_id=f"t{seq}", side=kind, qty=draw(quantities), price=draw(cents),
                              commission=draw(st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1)])), at=at, seq=seq, lots=picks))
            if kind == "buy":
                buys.append(f"t{seq}")
        elif kind == "deposit":
            facts.append(Deposit(amount=draw(cents), at=at, seq=seq))
        elif kind == "withdraw":
            facts.append(Withdrawal(amount=draw(cents), at=at, seq=seq))
        elif kind == "anchor":
            facts.append(AnchorSet(price=draw(cents), at=at, seq=seq))
        elif kind == "dividend":
            facts.append(DividendEx(dividend_id=f"d{seq}", per_share=draw(cents) / 10, withholding=Decimal(draw(st.integers(0, 30))) / 100,
                                    ex_date=at.date(), seq=seq))
            facts.append(DividendPay(dividend_id=f"d{seq}", at=at + timedelta(days=draw(st.integers(0, 10))), seq=1000 + seq))
        else:
            new, old = draw(st.sampled_from(RATIOS))
            facts.append(Split(split_id=f"x{draw(st.integers(0, 2))}", new=Decimal(new), old=Decimal(old), on=at.date(), seq=seq))
    return facts


def accepted(facts, method: str) -> tuple[PositionState, list]:
    """Apply facts in time order one at a time, skipping those refused (a refusal changes nothing)."""
    state, kept = new_state(method), []
    for fact in sorted(facts, key=sort_key):
        before = state.snapshot()
        try:
            apply(state, fact)
        except TimelineError:
            assert state.snapshot() == before
            continue
        kept.append(fact)
    return state, kept


def outcome(run):
    try:
        result = run()
    except TimelineError as error:
        return ("refused", error.kind, error.at, str(error))
    return (result.state.snapshot(), result.fills, result.dividends, result.splits)


@settings(max_examples=150, deadline=None)
@given(timelines(), st.randoms(use_true_random=False), st.sampled_from(METHODS))
def test_replay_of_any_insertion_order_equals_applying_in_time_order(facts, rnd, method):
    shuffled = list(facts)
    rnd.shuffle(shuffled)

    def one_at_a_time():
        state = new_state(method)
        for fact in sorted(facts, key=sort_key):
            apply(state, fact)
        return replay([], start=state)  # wraps the state; outcomes compared below come from replay

    shuffled_run = outcome(lambda: replay(shuffled, method=method))
    sequential = outcome(one_at_a_time)
    if shuffled_run[0] == "refused":
        assert sequential == shuffled_run
    else:
        assert sequential[0] == shuffled_run[0]
        assert outcome(lambda: replay(facts, method=method)) == shuffled_run


def split_factor(facts, key) -> Decimal:
    """Product of NEW/OLD over the distinct splits that sort after `key`."""
    factor, seen = Decimal(1), set()
    for fact in sorted(facts, key=sort_key):
        if isinstance(fact, Split) and fact.split_id not in seen:
            seen.add(fact.split_id)
            if sort_key(fact) > key:
                factor = factor * fact.new / fact.old
    return factor


@settings(max_examples=150, deadline=None)
@given(timelines(), st.sampled_from(METHODS))
def test_gains_and_lots_conserve_cost_and_shares(facts, method):
    state, kept = accepted(facts, method)
    result = replay(kept, method=method)
    assert result.state.snapshot() == state.snapshot()
    gains = result.gains
    assert sum((p.gain for p in gains), Decimal(0)) == sum((p.proceeds - p.cost for p in gains), Decimal(0))
    assert sum((f.realized_pnl for f in result.fills.values()), Decimal(0)) == state.realized_pnl
    assert sum((p.gain for p in gains), Decimal(0)) == state.realized_pnl
    # Cost: everything bought (opening lot included) is either still open or closed.
    opening = kept[0]
    bought = opening.qty * opening.cost_per_share + sum((f.qty * f.price for f in kept if isinstance(f, Fill) and f.side == "buy"), Decimal(0))
    assert bought == state.cost_basis + sum((p.cost for p in gains), Decimal(0))
    assert state.qty >= 0 and state.cash >= 0 and state.cost_basis >= 0
    # Shares, lot by lot, in today's shares: open + closed (each rescaled by later splits) = bought.
    open_qty = {lot.lot_id: lot.qty for lot in state.book.open_lots()}
    assert sum(open_qty.values(), Decimal(0)) == state.qty
    sells = {f.trade_id: f for f in kept if isinstance(f, Fill)}
    acquired = [("opening", opening.qty, sort_key(opening))] if opening.qty else []
    acquired += [(f.trade_id, f.qty, sort_key(f)) for f in kept if isinstance(f, Fill) and f.side == "buy"]
    for lot_id, qty, key in acquired:
        closed = sum((p.qty * split_factor(kept, sort_key(sells[p.sell_trade_id])) for p in gains if p.lot_id == lot_id), Decimal(0))
        assert qty * split_factor(kept, key) == open_qty.get(lot_id, Decimal(0)) + closed


@settings(max_examples=100, deadline=None)
@given(timelines(), st.sampled_from(METHODS), st.integers(0, 30))
def test_resuming_from_a_checkpoint_equals_a_full_replay(facts, method, cut):
    _, kept = accepted(facts, method)
    cut = min(cut, len(kept))
    checkpoint = replay(kept[:cut], method=method).state.snapshot()
    resumed = replay(kept[cut:], start=checkpoint)
    full = replay(kept, method=method)
    assert resumed.state.snapshot() == full.state.snapshot()
    assert all(full.fills[k] == v for k, v in resumed.fills.items())


@settings(max_examples=100, deadline=None)
@given(timelines(), st.sampled_from(METHODS), st.integers(0, 45))
def test_until_is_the_state_before_that_time(facts, method, day):
    _, kept = accepted(facts, method)
    until = START + timedelta(days=day)
    assert replay(kept, method=method, until=until).state.snapshot() == replay([f for f in kept if f.at < until], method=method).state.snapshot()
