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

from decimal import Decimal as D

from hypothesis import event, given, settings
from hypothesis import strategies as st

from vbcli.domain.numbers import CONTEXT, round_money
from vbcli.domain.policy import Guardrails, OrderPolicy
from vbcli.domain.rule import BUY, HOLD, REJECTED, SELL, OrderContext, PositionState, evaluate, floor_quantity


def scaled(low: int, high: int, places: int) -> st.SearchStrategy[D]:
    return st.integers(low, high).map(lambda n: D(n).scaleb(-places))




@st.composite
def positions(draw: st.DrawFn) -> PositionState:
    """Mostly balanced positions (cash 0–4× the stock value), sometimes anything."""
    qty = draw(st.sampled_from([D(100), D(10), D(1000), D(1), D("0.5")])) * draw(scaled(0, 2000, 3))
    anchor = draw(scaled(1, 10**6, 2))
    if draw(st.integers(0, 4)) == 0:
        cash = draw(scaled(0, 10**9, 2))
    else:
        cash = (qty * anchor * draw(st.integers(0, 400)) / 100).quantize(D("0.01"))
    receivable = draw(st.sampled_from([D(0), D(0), D("0.01"), D("1234.56")]))
    return PositionState(qty=qty, cash=cash, receivable=receivable, anchor=anchor)


policies = st.builds(
    OrderPolicy,
    trigger_up=st.sampled_from([D("0.03"), D("0.01"), D("0.05"), D("0.1"), D("0")]),
    trigger_down=st.sampled_from([D("0.03"), D("0.01"), D("0.05"), D("0.1"), D("0")]),
    rebalance_ratio=st.sampled_from([D("0.5"), D("1"), D("1.6667"), D("3"), D("10")]),
    commission_rate=st.sampled_from([D("0"), D("0.0001"), D("0.001"), D("0.005"), D("0.01"), D("0.05")]),
    min_qty=st.sampled_from([D("0"), D("0"), D("1"), D("5")]),
    min_notional=st.sampled_from([D("0"), D("1"), D("100"), D("0"), D("1000")]),
    lot_size=st.sampled_from([D("0"), D("0"), D("0"), D("1"), D("10")]),
    qty_step=st.sampled_from([D("0"), D("0.001"), D("0.5"), D("1")]),
    below_min=st.sampled_from(["hold", "reject", "clip"]),
    auto_rebalance=st.booleans(),
    anchor_reset=st.sampled_from([D("0.5"), D("1"), D("0.2")]),
)


@st.composite
def guardrails(draw: st.DrawFn) -> Guardrails:
    low = draw(st.integers(0, 50))
    high = draw(st.integers(max(low, 50), 100) if draw(st.integers(0, 9)) else st.integers(low, 100))
    return Guardrails(
        min_stock_alloc=D(low) / 100,
        max_stock_alloc=D(high) / 100,
        max_trade=draw(st.sampled_from([D("1"), D("0.2"), D("0.5"), D("0.05"), D("1"), D("0")])),
        max_orders_per_day=5,
    )


@st.composite
def prices(draw: st.DrawFn, anchor: D) -> D:
    """Prices near the anchor (exact trigger points included), sometimes anywhere."""
    percent = draw(st.one_of(st.integers(-30, 30), st.sampled_from([-50, -5, -3, 3, 5, 50])))
    price = (anchor * (100 + percent) / 100).quantize(D("0.0001"))
    return max(price, D("0.0001"))


@st.composite
def cases(draw: st.DrawFn) -> tuple[PositionState, D, OrderPolicy, Guardrails]:
    state = draw(positions())
    assert state.anchor is not None
    anywhere = draw(st.integers(0, 9)) == 0
    price = draw(scaled(1, 10**6, 2) if anywhere else prices(state.anchor))
    return state, price, draw(policies), draw(guardrails())


@settings(max_examples=300, deadline=None)
@given(cases())
def test_proposals_respect_cash_shares_caps_guardrails_and_triggers(case):
    state, price, policy, guard = case
    ev = evaluate(state, price, policy, guard, OrderContext(apply_daily_cap=False))
    event(f"{ev.action} {'rebalance' if ev.reason.startswith('rebalance') else ''}".strip())
    if ev.action == HOLD:
        event("HOLD: " + ev.reason.split(" ")[0] + " " + ev.reason.split(" ")[1])
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
def test_open_orders_and_the_daily_cap_only_ever_turn_proposals_into_holds(case):
    state, price, policy, guard = case
    free = evaluate(state, price, policy, guard, OrderContext(apply_daily_cap=False))
    blocked = evaluate(state, price, policy, guard, OrderContext(has_open_order=True))
    capped = evaluate(state, price, policy, guard, OrderContext(orders_today=5))
    for ev in (blocked, capped):
        if free.action in (BUY, SELL):
            assert ev.action == HOLD and ev.qty == 0
        else:
            assert ev.action == free.action
