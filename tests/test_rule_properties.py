"""Properties of the rule over random positions, prices and policies (Hypothesis).

The invariants, stated exactly (min_stock_alloc ≤ max_stock_alloc assumed, as the CLI
enforces). For every proposal (action BUY or SELL) with quantity q at price P, where
V = Q·P + C + R and fee = q·P·commission_rate:

1. q > 0, q is a multiple of the policy's step and lot (flooring is idempotent), and it
   meets min_qty and min_notional.
2. A BUY never spends more cash than the position has: q·P + commission ≤ C (the
   commission is the cent-rounded estimate), and also q·P·(1 + rate) ≤ C.
3. A SELL never sells more than is held: q ≤ Q.
4. q·P ≤ max_trade·V.
5. A BUY ends at or below max: (Q+q)·P ≤ max·(V − fee). A SELL ends at or above min:
   (Q−q)·P ≥ min·(V − fee). There is no exception, not even for a rebalance: a
   rebalance from below min buys *toward* min (which is ≤ max), a rebalance from above
   max sells toward max (≥ min), so each trade's own-direction bound still holds.
6. A trade starts strictly inside its own-direction bound: a BUY starts with s < max, a
   SELL with s > min (at or beyond the bound → HOLD, never the other side).
7. The side never contradicts the trigger: change ≥ trigger_up → never BUY;
   change ≤ −trigger_down → never SELL. Without a trigger a BUY needs auto_rebalance and
   s < min, a SELL needs auto_rebalance and s > max.
8. Without clipping, a rebalance does not overshoot its target: a rebalance BUY ends at or
   below min, a rebalance SELL at or above max.
"""

from __future__ import annotations

import random
from decimal import Decimal as D

from hypothesis import event, given, settings
from hypothesis import strategies as st

from vbcli.domain.numbers import CONTEXT, round_money
from vbcli.domain.policy import Guardrails, OrderPolicy
from vbcli.domain.rule import BUY, HOLD, REJECTED, SELL, OrderContext, PositionState, evaluate, floor_quantity


Case = tuple[PositionState, D, OrderPolicy, Guardrails]

TRIGGERS = [D("0.03"), D("0.01"), D("0.05"), D("0.1"), D("0")]
RATIOS = [D("1.6667"), D("0.5"), D("1"), D("3"), D("10"), D("0")]
RATES = [D("0.0001"), D("0"), D("0.001"), D("0.005"), D("0.01"), D("0.05")]
MIN_QTYS = [D("0"), D("1"), D("5")]
MIN_NOTIONALS = [D("0"), D("1"), D("100"), D("1000")]
LOTS = [D("0"), D("1"), D("10"), D("100")]
STEPS = [D("0"), D("0.001"), D("0.5"), D("1")]
MODES = ["hold", "reject", "clip"]
RESETS = [D("0.5"), D("1"), D("0.2")]
MAX_TRADES = [D("1"), D("0.2"), D("0.5"), D("0.05"), D("0")]


def scaled(low: int, high: int, places: int) -> st.SearchStrategy[D]:
    return st.integers(low, high).map(lambda n: D(n).scaleb(-places))


@st.composite
def edge_cases(draw: st.DrawFn) -> Case:
    """Hypothesis's own choices: zeros, extremes, exact trigger and reset points."""
    anchor = draw(scaled(1, 10**6, 2))
    state = PositionState(
        qty=draw(scaled(0, 10**7, 3)),
        cash=draw(scaled(0, 10**9, 2)),
        receivable=draw(st.sampled_from([D(0), D("0.01"), D("1234.56")])),
        anchor=anchor,
    )
    percent = draw(st.one_of(st.integers(-60, 60), st.sampled_from([-50, -5, -3, 3, 5, 50])))
    price = max((anchor * (100 + percent) / 100).quantize(D("0.0001")), D("0.0001"))
    policy = OrderPolicy(
        trigger_up=draw(st.sampled_from(TRIGGERS)),
        trigger_down=draw(st.sampled_from(TRIGGERS)),
        rebalance_ratio=draw(st.sampled_from(RATIOS)),
        commission_rate=draw(st.sampled_from(RATES)),
        min_qty=draw(st.sampled_from(MIN_QTYS)),
        min_notional=draw(st.sampled_from(MIN_NOTIONALS)),
        lot_size=draw(st.sampled_from(LOTS)),
        qty_step=draw(st.sampled_from(STEPS)),
        below_min=draw(st.sampled_from(MODES)),
        auto_rebalance=draw(st.booleans()),
        anchor_reset=draw(st.sampled_from(RESETS)),
    )
    low = draw(st.integers(0, 100))
    high = draw(st.integers(low, 100))
    guard = Guardrails(D(low) / 100, D(high) / 100, draw(st.sampled_from(MAX_TRADES)))
    return state, price, policy, guard


@st.composite
def typical_cases(draw: st.DrawFn) -> Case:
    """Uniformly drawn realistic positions, where most evaluations propose an order."""
    # A seeded Random gives uniform draws; Hypothesis's own draws lean to edge values.
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    anchor = D(rnd.randint(100, 1_000_000)).scaleb(-2)
    qty = D(rnd.randint(0, 10**7)).scaleb(-3)
    cash = (qty * anchor * rnd.randint(20, 300) / 100).quantize(D("0.01")) + rnd.randint(0, 1000)
    state = PositionState(qty, cash, D(rnd.choice([0, 0, 0, 500])), anchor)
    price = (anchor * (1 + D(rnd.randint(-2500, 2500)) / 10000)).quantize(D("0.01"))
    policy = OrderPolicy(
        trigger_up=rnd.choice(TRIGGERS[:4]),
        trigger_down=rnd.choice(TRIGGERS[:4]),
        rebalance_ratio=rnd.choice(RATIOS[:5]),
        commission_rate=rnd.choice(RATES),
        min_qty=rnd.choice([D(0), D(0), D(1)]),
        min_notional=rnd.choice([D(0), D(1), D(100)]),
        lot_size=rnd.choice([D(0), D(0), D(0), D(1), D(10)]),
        qty_step=rnd.choice(STEPS),
        below_min=rnd.choice(MODES),
        auto_rebalance=rnd.random() < 0.8,
    )
    low = rnd.randint(0, 50)
    guard = Guardrails(D(low) / 100, D(rnd.randint(max(low, 50), 100)) / 100, rnd.choice(MAX_TRADES[:4]))
    return state, max(price, D("0.01")), policy, guard


def cases() -> st.SearchStrategy[Case]:
    return st.one_of(edge_cases(), typical_cases())


@settings(max_examples=300, deadline=None)
@given(typical_cases())
def test_typical_proposals_keep_the_invariants(case: Case) -> None:
    check_invariants(*case)


@settings(max_examples=300, deadline=None)
@given(edge_cases())
def test_edge_case_proposals_keep_the_invariants(case: Case) -> None:
    check_invariants(*case)


def check_invariants(state: PositionState, price: D, policy: OrderPolicy, guard: Guardrails) -> None:
    """Assert invariants 1–8 of the module docstring for one evaluation."""
    ev = evaluate(state, price, policy, guard, OrderContext(apply_daily_cap=False))
    event(ev.action)
    q_held, cash, anchor = state.qty, state.cash, state.anchor
    assert anchor is not None
    value = q_held * price + cash + state.receivable
    stock = q_held * price
    rate = policy.commission_rate

    if ev.action not in (BUY, SELL):
        assert ev.qty == 0 and ev.side is None
        if ev.action == REJECTED:
            assert policy.below_min == "reject"
        return

    q = ev.qty
    fee = CONTEXT.multiply(CONTEXT.multiply(q, price), rate)
    # 1. a positive, conforming quantity that meets the minimums
    assert q > 0
    assert floor_quantity(q, policy) == q
    assert q >= policy.min_qty and q * price >= policy.min_notional
    assert ev.commission == round_money(q * price * rate)
    # 4. per-trade cap
    assert q * price <= guard.max_trade * value
    if ev.action == BUY:
        assert ev.side == "buy"
        # 2. cash, with the rounded commission and with the exact rate
        assert q * price + ev.commission <= cash
        assert q * price * (1 + rate) <= cash
        # 5. ends at or below max; 6. started below max
        assert (q_held + q) * price <= guard.max_stock_alloc * (value - fee)
        assert stock < guard.max_stock_alloc * value
    else:
        assert ev.side == "sell"
        # 3. shares
        assert q <= q_held
        # 5. ends at or above min; 6. started above min
        assert (q_held - q) * price >= guard.min_stock_alloc * (value - fee)
        assert stock > guard.min_stock_alloc * value

    # 7. the side follows the trigger
    rose = price - anchor >= policy.trigger_up * anchor
    fell = anchor - price >= policy.trigger_down * anchor
    if rose:
        assert ev.action == SELL
    elif fell:
        assert ev.action == BUY
    else:
        assert policy.auto_rebalance and ev.reason.startswith("rebalance")
        if ev.action == BUY:
            assert stock < guard.min_stock_alloc * value
        else:
            assert stock > guard.max_stock_alloc * value
        # 8. a rebalance without clipping lands on, not past, its target bound
        if policy.below_min != "clip":
            if ev.action == BUY:
                assert (q_held + q) * price <= guard.min_stock_alloc * (value - fee)
            else:
                assert (q_held - q) * price >= guard.max_stock_alloc * (value - fee)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_open_orders_and_the_daily_cap_only_ever_turn_proposals_into_holds(case: Case) -> None:
    state, price, policy, guard = case
    free = evaluate(state, price, policy, guard, OrderContext(apply_daily_cap=False))
    blocked = evaluate(state, price, policy, guard, OrderContext(has_open_order=True))
    capped = evaluate(state, price, policy, guard, OrderContext(orders_today=5))
    for ev in (blocked, capped):
        if free.action in (BUY, SELL):
            assert ev.action == HOLD and ev.qty == 0
        else:
            assert ev.action == free.action
