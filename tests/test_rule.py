"""The volatility-balancing rule, step by step (SPEC §4), with numbers worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from vbcli.domain.numbers import CONTEXT
from vbcli.domain.policy import Guardrails, OrderPolicy
from vbcli.domain.rule import (
    ANCHOR_RESET,
    BUY,
    HOLD,
    REJECTED,
    SELL,
    OrderContext,
    PositionState,
    ceil_quantity,
    check_manual_order,
    evaluate,
    floor_quantity,
    post_trade_alloc,
)
from vbcli.errors import UsageError

# A policy and guardrails that stay out of the way, so each test switches on one step.
LOOSE = OrderPolicy(rebalance_ratio=D("1"), commission_rate=D("0"), min_notional=D("0"))
OPEN = Guardrails(min_stock_alloc=D("0"), max_stock_alloc=D("1"), max_trade=D("1"))

# The worked example: Q 100, C 10 000, anchor 100, r 1.6667, commission 0.1%,
# guardrails 30–70 %, no per-trade cap.
EXAMPLE_STATE = PositionState(qty=D("100"), cash=D("10000"), anchor=D("100"))
EXAMPLE_POLICY = OrderPolicy(rebalance_ratio=D("1.6667"), commission_rate=D("0.001"))
EXAMPLE_GUARD = Guardrails(min_stock_alloc=D("0.3"), max_stock_alloc=D("0.7"), max_trade=D("1"))


def state(qty: str, cash: str, anchor: str | None = "100", receivable: str = "0") -> PositionState:
    return PositionState(D(qty), D(cash), D(receivable), D(anchor) if anchor is not None else None)


def example(price: str = "97", context: OrderContext = OrderContext(), **policy: object):
    return evaluate(EXAMPLE_STATE, D(price), replace(EXAMPLE_POLICY, **policy), EXAMPLE_GUARD, context)


# --- the worked example -----------------------------------------------------------------


def test_worked_example_buys_10_468909():
    # V = 100·97 + 10 000 = 19 700; change = (97 − 100)/100 = −3 % → BUY (inclusive).
    # ΔQ = (100/97 − 1)·1.6667·19 700/97 = 3·1.6667·19 700/97² = 98 501.97/9 409 = 10.46890955…
    # Caps: cash 10 000/(97·1.001) = 102.99…; max_trade 100 % → 19 700/97 = 203.09…
    # Guardrail max 70 %: (0.7·19 700 − 9 700)/(97·1.0007) = 4 090/97.0679 = 42.13… → no trim.
    # Floor to 6 decimals → 10.468909; notional 10.468909·97 = 1 015.484173 ≥ 100.
    ev = example()
    assert ev.action == BUY and ev.side == "buy"
    assert ev.qty == D("10.468909")
    assert ev.notional == D("1015.484173")
    assert ev.commission == D("1.02")  # 1.015484173 half-up to cents
    assert ev.change == D("-0.03")
    assert ev.total_value == D("19700")
    assert ev.raw_qty == ev.capped_qty == ev.trimmed_qty
    assert D("10.468909") < ev.raw_qty < D("10.46891")
    assert ev.reason == "price fell 3.00% below anchor 100 (trigger 3%)"
    # allocation before 9 700/19 700 = 0.49238578…
    assert ev.stock_alloc_before == D("0.4923857868")
    # after: (110.468909·97)/(19 700 − 1.015484173) = 10 715.484173/19 698.984515827 = 0.54396…
    assert D("0.5439") < ev.stock_alloc_after < D("0.5440")


def test_to_dict_has_the_spec_keys_and_the_extra_working():
    data = example().to_dict()
    spec = {"action", "qty", "price", "notional", "commission", "reason", "change", "raw_qty",
            "stock_alloc_before", "stock_alloc_after", "anchor", "total_value"}  # fmt: skip
    extra = {"side", "trigger_up", "trigger_down", "capped_qty", "trimmed_qty"}
    assert set(data) == spec | extra
    assert "position_id" not in data
    assert isinstance(data["qty"], D)


# --- step 1: anchor -----------------------------------------------------------------------


def test_no_anchor_holds():
    ev = evaluate(state("100", "10000", anchor=None), D("97"), LOOSE, OPEN)
    assert (ev.action, ev.reason, ev.change, ev.qty) == (HOLD, "no anchor", None, 0)


def test_a_position_without_value_holds():
    ev = evaluate(state("0", "0"), D("97"), LOOSE, OPEN)
    assert (ev.action, ev.reason) == (HOLD, "position has no value")


@pytest.mark.parametrize("price", ["151", "49"])
def test_anchor_reset_beyond_the_bound(price: str):
    # |151 − 100|/100 = 51 % > 50 %; |49 − 100|/100 = 51 % > 50 %
    ev = evaluate(state("100", "10000"), D(price), LOOSE, OPEN)
    assert ev.action == ANCHOR_RESET
    assert ev.qty == 0 and ev.side is None
    assert "anchor_reset 50%" in ev.reason


@pytest.mark.parametrize(("price", "action"), [("150", SELL), ("50", BUY)])
def test_exactly_at_the_reset_bound_does_not_reset(price: str, action: str):
    # |150 − 100|/100 = 50 %, not above 50 % → the trigger decides instead
    ev = evaluate(state("100", "10000"), D(price), LOOSE, OPEN)
    assert ev.action == action


# --- step 2: triggers ---------------------------------------------------------------------


def test_exactly_plus_three_percent_sells():
    # V = 100·103 + 10 000 = 20 300; ΔQ = (100 − 103)·1·20 300/103² = −60 900/10 609 = −5.7404090…
    ev = evaluate(state("100", "10000"), D("103"), LOOSE, OPEN)
    assert ev.action == SELL and ev.side == "sell"
    assert ev.qty == D("5.740409")
    assert ev.reason == "price rose 3.00% above anchor 100 (trigger 3%)"


def test_exactly_minus_three_percent_buys():
    # V = 9 700 + 10 000 = 19 700; ΔQ = 3·1·19 700/9 409 = 59 100/9 409 = 6.2812201…
    ev = evaluate(state("100", "10000"), D("97"), LOOSE, OPEN)
    assert ev.action == BUY
    assert ev.qty == D("6.28122")


def test_trigger_bound_is_exact_with_an_uneven_anchor():
    # (145.5 − 150)/150 = −0.03 exactly; (154.5 − 150)/150 = +0.03 exactly
    assert evaluate(state("100", "10000", anchor="150"), D("145.5"), LOOSE, OPEN).action == BUY
    assert evaluate(state("100", "10000", anchor="150"), D("154.5"), LOOSE, OPEN).action == SELL


@pytest.mark.parametrize("price", ["102.99", "97.01", "100"])
def test_inside_the_triggers_holds(price: str):
    ev = evaluate(state("100", "10000"), D(price), LOOSE, OPEN)
    assert ev.action == HOLD
    assert "within the triggers" in ev.reason


def test_separate_up_and_down_triggers():
    policy = replace(LOOSE, trigger_up=D("0.05"), trigger_down=D("0.02"))
    assert evaluate(state("100", "10000"), D("104"), policy, OPEN).action == HOLD  # +4 % < 5 %
    assert evaluate(state("100", "10000"), D("98"), policy, OPEN).action == BUY  # −2 % ≤ −2 %


# --- step 2: auto-rebalance ---------------------------------------------------------------

REBALANCE_GUARD = Guardrails(min_stock_alloc=D("0.25"), max_stock_alloc=D("0.75"), max_trade=D("1"))


def test_rebalance_buys_exactly_to_the_lower_bound():
    # P = anchor = 100 (no trigger); V = 10·100 + 9 000 = 10 000; s = 10 % < 25 %.
    # q = (0.25·10 000 − 1 000)/(100·(1 + 0.25·0)) = 15; after (25·100)/10 000 = 25 %.
    ev = evaluate(state("10", "9000"), D("100"), LOOSE, REBALANCE_GUARD)
    assert (ev.action, ev.qty, ev.reason) == (BUY, D("15"), "rebalance")
    assert ev.stock_alloc_after == D("0.25")


def test_rebalance_buy_counts_the_commission():
    # rate 0.1 %: q = 1 500/(100·1.00025) = 1 500/100.025 = 14.99625093… → 14.996250
    policy = replace(LOOSE, commission_rate=D("0.001"))
    ev = evaluate(state("10", "9000"), D("100"), policy, REBALANCE_GUARD)
    assert (ev.action, ev.qty) == (BUY, D("14.99625"))


def test_rebalance_sells_exactly_to_the_upper_bound():
    # V = 9 000 + 1 000 = 10 000; s = 90 % > 75 %; q = (9 000 − 7 500)/(100·1) = 15
    ev = evaluate(state("90", "1000"), D("100"), LOOSE, REBALANCE_GUARD)
    assert (ev.action, ev.qty, ev.reason) == (SELL, D("15"), "rebalance")
    assert ev.stock_alloc_after == D("0.75")


def test_rebalance_off_holds():
    policy = replace(LOOSE, auto_rebalance=False)
    assert evaluate(state("10", "9000"), D("100"), policy, REBALANCE_GUARD).action == HOLD
    assert evaluate(state("90", "1000"), D("100"), policy, REBALANCE_GUARD).action == HOLD


# --- step 4: caps -------------------------------------------------------------------------


def test_sell_capped_by_shares_held():
    # V = 10·110 + 100 000 = 101 100; ΔQ = −10·1·101 100/12 100 = −83.55… > 10 held → 10
    ev = evaluate(state("10", "100000"), D("110"), LOOSE, OPEN)
    assert (ev.action, ev.qty) == (SELL, D("10"))
    assert ev.capped_qty == D("10")
    assert "capped by shares held" in ev.reason


def test_buy_capped_by_cash_with_commission():
    # V = 9 000 + 1 000 = 10 000; ΔQ = 10·1·10 000/8 100 = 12.345…
    # cash cap 1 000/(90·1.01) = 1 000/90.9 = 11.0011001… → 11.0011
    # cost 11.0011·90 = 990.099 + commission 9.90099 → 9.90 = 999.999 ≤ 1 000
    policy = replace(LOOSE, commission_rate=D("0.01"))
    ev = evaluate(state("100", "1000"), D("90"), policy, OPEN)
    assert (ev.action, ev.qty, ev.commission) == (BUY, D("11.0011"), D("9.90"))
    assert "capped by cash" in ev.reason


def test_buy_shrinks_when_the_rounded_commission_would_overdraw():
    # Q 0, C 100, anchor 2, P 1 (−50 %, reset widened to 90 %); ΔQ = 1·1·100/1 = 100.
    # cash cap 100/1.005 = 99.5024875… → 99.502487; its commission 0.4975124… rounds up
    # to 0.50 and 99.502487 + 0.50 = 100.002487 > 100. Refit: (100 − 0.50)/1 = 99.5,
    # commission 0.4975 → 0.50, cost 100.00 exactly.
    policy = replace(LOOSE, commission_rate=D("0.005"), anchor_reset=D("0.9"))
    ev = evaluate(state("0", "100", anchor="2"), D("1"), policy, OPEN)
    assert (ev.action, ev.qty, ev.commission) == (BUY, D("99.5"), D("0.50"))
    assert ev.notional + ev.commission == D("100")


def test_buy_capped_by_max_trade():
    # max_trade 2 %: 0.02·19 700/97 = 394/97 = 4.0618556… → 4.061855 (raw 10.4689… is larger)
    guard = replace(EXAMPLE_GUARD, max_trade=D("0.02"))
    ev = evaluate(EXAMPLE_STATE, D("97"), EXAMPLE_POLICY, guard)
    assert (ev.action, ev.qty) == (BUY, D("4.061855"))
    assert "capped by max_trade 2%" in ev.reason


def test_no_cash_holds():
    ev = evaluate(state("100", "0"), D("97"), LOOSE, OPEN)
    assert (ev.action, ev.reason) == (HOLD, "no cash to buy")


def test_no_shares_holds():
    ev = evaluate(state("0", "10000"), D("103"), LOOSE, OPEN)
    assert (ev.action, ev.reason) == (HOLD, "no shares to sell")


def test_receivable_counts_in_value_but_is_not_spent():
    # V = 9 700 + 10 000 + 1 000 = 20 700; ΔQ = 3·1.6667·20 700/9 409 = 103 502.07/9 409
    # = 11.0003263… → 11.000326
    ev = evaluate(state("100", "10000", receivable="1000"), D("97"), EXAMPLE_POLICY, EXAMPLE_GUARD)
    assert ev.total_value == D("20700")
    assert ev.qty == D("11.000326")
    # Only C is cash: C 500, R 10 000 → cap 500/97 = 5.1546391… → 5.154639
    ev = evaluate(state("100", "500", receivable="10000"), D("97"), replace(LOOSE, rebalance_ratio=D("1.6667")), OPEN)
    assert (ev.action, ev.qty) == (BUY, D("5.154639"))


# --- step 5: guardrails -------------------------------------------------------------------


def test_buy_trimmed_exactly_onto_max_with_commission():
    # Q 39.99, C 6 001, P 100, anchor 110 (−9.09 % → BUY); V = 3 999 + 6 001 = 10 000.
    # raw = 10·1.6667·10 000/10 000 = 16.667. Max 50 %, rate 0.2 %:
    # q = (0.5·10 000 − 3 999)/(100·(1 + 0.5·0.002)) = 1 001/100.1 = 10.
    # after: (49.99·100)/(10 000 − 10·100·0.002) = 4 999/9 998 = 0.5 exactly.
    policy = replace(LOOSE, rebalance_ratio=D("1.6667"), commission_rate=D("0.002"))
    guard = replace(OPEN, max_stock_alloc=D("0.5"))
    ev = evaluate(state("39.99", "6001", anchor="110"), D("100"), policy, guard)
    assert (ev.action, ev.qty, ev.commission) == (BUY, D("10"), D("2.00"))
    assert ev.trimmed_qty == D("10")
    assert ev.stock_alloc_after == D("0.5")
    assert "trimmed to max_stock_alloc 50%" in ev.reason


def test_sell_trimmed_exactly_onto_min_with_commission():
    # Q 59.99, C 4 001, P 100, anchor 90 (+11.1 % → SELL); V = 5 999 + 4 001 = 10 000.
    # q = (5 999 − 0.5·10 000)/(100·(1 − 0.5·0.002)) = 999/99.9 = 10.
    # after: (49.99·100)/(10 000 − 2) = 4 999/9 998 = 0.5 exactly.
    policy = replace(LOOSE, rebalance_ratio=D("1.6667"), commission_rate=D("0.002"))
    guard = replace(OPEN, min_stock_alloc=D("0.5"))
    ev = evaluate(state("59.99", "4001", anchor="90"), D("100"), policy, guard)
    assert (ev.action, ev.qty) == (SELL, D("10"))
    assert ev.stock_alloc_after == D("0.5")
    assert "trimmed to min_stock_alloc 50%" in ev.reason


def test_buy_trigger_beyond_max_holds_and_never_sells():
    # s = 9 000/10 000 = 90 % > 75 %, price fell 10 % → BUY trigger, but no room → HOLD
    ev = evaluate(state("100", "1000"), D("90"), LOOSE, REBALANCE_GUARD)
    assert (ev.action, ev.side, ev.qty) == (HOLD, None, 0)
    assert ev.reason.startswith("stock allocation already at max 75%")


def test_buy_trigger_exactly_at_max_holds():
    # P 100, anchor 110: Q 75, C 2 500 → s = 7 500/10 000 = 75 % exactly
    ev = evaluate(state("75", "2500", anchor="110"), D("100"), LOOSE, REBALANCE_GUARD)
    assert ev.action == HOLD and ev.reason.startswith("stock allocation already at max 75%")


def test_sell_trigger_below_min_holds_and_never_buys():
    # s = 1 000/10 000 = 10 % < 25 %, price rose 11 % → SELL trigger, no room → HOLD
    ev = evaluate(state("10", "9000", anchor="90"), D("100"), LOOSE, REBALANCE_GUARD)
    assert (ev.action, ev.side) == (HOLD, None)
    assert ev.reason.startswith("stock allocation already at min 25%")


# --- step 6: lots, steps and minimums -------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "qty"),
    [
        ({"qty_step": D("1")}, D("10")),  # 10.4689… → 10
        ({"qty_step": D("0.25")}, D("10.25")),  # 41.87… steps → 41·0.25
        ({"lot_size": D("3")}, D("9")),  # 3·3
        ({"qty_step": D("1"), "lot_size": D("4")}, D("8")),  # 10 → 2 lots of 4
        ({"qty_step": D("0.001")}, D("10.468")),
    ],
)
def test_quantity_floors_to_step_and_lot(policy: dict, qty: D):
    assert example(**policy).qty == qty


def test_quantity_flooring_to_zero_holds():
    ev = example(qty_step=D("100"))
    assert ev.action == HOLD
    assert "rounds down to 0" in ev.reason


def test_below_min_hold():
    # qty_step 1 → 10 shares · 97 = 970 < 1 000
    ev = example(qty_step=D("1"), min_notional=D("1000"))
    assert (ev.action, ev.qty) == (HOLD, 0)
    assert ev.reason == "notional 970 below min_notional 1000"


def test_below_min_reject_names_the_minimum():
    ev = example(qty_step=D("1"), min_notional=D("1000"), below_min="reject")
    assert (ev.action, ev.qty, ev.side) == (REJECTED, 0, None)
    assert "below min_notional 1000" in ev.reason
    ev = example(qty_step=D("1"), min_qty=D("12"), below_min="reject")
    assert ev.action == REJECTED and "qty 10 below min_qty 12" in ev.reason


def test_below_min_clip_raises_to_the_minimum():
    # needed 1 000/97 = 10.309… shares → 11 whole shares (1 067 ≥ 1 000); caps allow 42.
    ev = example(qty_step=D("1"), min_notional=D("1000"), below_min="clip")
    assert (ev.action, ev.qty) == (BUY, D("11"))
    assert "below_min clip" in ev.reason


def test_below_min_clip_fractional_rounds_up_to_six_decimals():
    # 10.468909·97 = 1 015.48 < 1 100; 1 100/97 = 11.3402061… → 11.340207
    # (11.340206·97 = 1 099.999982 is still short).
    ev = example(min_notional=D("1100"), below_min="clip")
    assert (ev.action, ev.qty) == (BUY, D("11.340207"))


def test_below_min_clip_holds_when_caps_forbid():
    # max_trade 5 %: 0.05·19 700/97 = 985/97 = 10.15… → floor 10 → 970 < 1 000;
    # the minimum 11 shares is above the cap 10.15 → HOLD.
    guard = replace(EXAMPLE_GUARD, max_trade=D("0.05"))
    policy = replace(EXAMPLE_POLICY, qty_step=D("1"), min_notional=D("1000"), below_min="clip")
    ev = evaluate(EXAMPLE_STATE, D("97"), policy, guard)
    assert ev.action == HOLD
    assert "below min_notional 1000" in ev.reason and "exceeds the caps or guardrails" in ev.reason


def test_floor_and_ceil_helpers():
    policy = replace(LOOSE, qty_step=D("0.5"), lot_size=D("2"))
    assert floor_quantity(D("7.9"), policy) == D("6")
    assert ceil_quantity(D("4.1"), policy) == D("6")
    assert ceil_quantity(D("1.0000001"), LOOSE) == D("1.000001")


# --- step 6: open orders and the daily cap ----------------------------------------------------


def test_open_order_holds():
    ev = example(context=OrderContext(has_open_order=True))
    assert (ev.action, ev.reason) == (HOLD, "open order on the position")


def test_daily_cap_holds_when_reached():
    # default max_orders_per_day 5
    assert example(context=OrderContext(orders_today=4)).action == BUY
    ev = example(context=OrderContext(orders_today=5))
    assert (ev.action, ev.reason) == (HOLD, "daily order cap 5 reached")


def test_daily_cap_ignored_when_not_applied():
    assert example(context=OrderContext(orders_today=99, apply_daily_cap=False)).action == BUY


def test_non_positive_price_is_refused():
    with pytest.raises(UsageError):
        evaluate(EXAMPLE_STATE, D("0"), LOOSE, OPEN)


# --- post-trade allocation and manual orders ---------------------------------------------------

MANUAL_GUARD = Guardrails(min_stock_alloc=D("0.25"), max_stock_alloc=D("0.75"), max_trade=D("0.2"))


def manual(qty_held: str, cash: str, side: str, qty: str, rate: str = "0", **context: object) -> str | None:
    policy = replace(LOOSE, commission_rate=D(rate))
    return check_manual_order(state(qty_held, cash), side, D(qty), D("100"), policy, MANUAL_GUARD, OrderContext(**context))


def test_post_trade_alloc_includes_commission():
    # Q 70, C 3 000, P 100: buy 5 at 1 %: (75·100)/(10 000 − 5) = 7 500/9 995
    after = post_trade_alloc(state("70", "3000"), "buy", D("5"), D("100"), D("0.01"))
    assert after == CONTEXT.divide(D(7500), D(9995))
    # sell 5 at 0 %: (25·100)/10 000
    assert post_trade_alloc(state("30", "7000"), "sell", D("5"), D("100"), D("0")) == D("0.25")


def test_manual_buy_up_to_max_is_allowed_and_beyond_refused():
    # Q 70, C 3 000, P 100 → V 10 000. Buy 5 → 7 500/10 000 = 75 % (at the bound, allowed).
    assert manual("70", "3000", "buy", "5") is None
    # Buy 6 → 76 %
    assert "above max_stock_alloc 75%" in (manual("70", "3000", "buy", "6") or "")
    # Buy 5 with 1 % commission → 7 500/9 995 = 75.04 %
    assert "75.04%" in (manual("70", "3000", "buy", "5", rate="0.01") or "")


def test_manual_sell_down_to_min_is_allowed_and_beyond_refused():
    # Q 30, C 7 000 → s 30 %. Sell 5 → 25 % (allowed); sell 6 → 24 %.
    assert manual("30", "7000", "sell", "5") is None
    assert "below min_stock_alloc 25%" in (manual("30", "7000", "sell", "6") or "")


def test_manual_order_above_max_trade_is_refused():
    # max_trade 20 % of 10 000 = 2 000: buy 20 at 100 is allowed, 21 is not.
    assert manual("30", "7000", "buy", "20") is None
    assert "max_trade 20%" in (manual("30", "7000", "buy", "21") or "")


def test_manual_orders_toward_the_guardrails_are_allowed():
    # s 90 %: selling helps; s 10 %: buying helps (post-trade 15 %, still below min).
    assert manual("90", "1000", "sell", "10") is None
    assert manual("10", "9000", "buy", "5") is None


def test_manual_daily_cap():
    assert "daily order cap of 5" in (manual("30", "7000", "buy", "1", orders_today=5) or "")
    assert manual("30", "7000", "buy", "1", orders_today=5, apply_daily_cap=False) is None
    assert manual("30", "7000", "buy", "1", orders_today=4) is None
