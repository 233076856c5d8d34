"""Cost-basis methods and lots (SPEC §8.3): hand-worked examples."""

from __future__ import annotations

from datetime import date

import pytest
from timeline_helpers import D, buy, opening, sell, split, t

from vbcli.domain.facts import OPENING_LOT, LotSelectionError
from vbcli.domain.lots import LotBook, cost_share
from vbcli.domain.timeline import replay


def three_buys(*sells):
    # cash 10000; A 10@10, B 10@20, C 10@15 → 30 shares costing 100 + 200 + 150 = 450.
    return [opening(cash="10000"), buy("A", 10, 10, t(11, 1)), buy("B", 10, 20, t(11, 2)),
            buy("C", 10, 15, t(11, 3)), *sells]


def pieces(result, trade_id="S"):
    return [(p.lot_id, p.qty, p.proceeds, p.cost, p.gain) for p in result.fills[trade_id].pieces]


def open_lots(result):
    return [(lot.lot_id, lot.qty, lot.cost) for lot in result.state.book.open_lots()]


SELL_15 = sell("S", 15, 25, t(11, 4), commission="3")  # proceeds 375, commission 3 (2 + 1 by qty)


@pytest.mark.parametrize(
    ("method", "want_pieces", "want_open", "realized"),
    [
        # FIFO: A 10 (cost 100) then B 5 (100): 250−2−100 = 148, 125−1−100 = 24; 375−200−3 = 172.
        ("fifo", [("A", 10, 248, 100, 148), ("B", 5, 124, 100, 24)], [("B", 5, 100), ("C", 10, 150)], 172),
        # LIFO: C 10 (150) then B 5 (100): 248−150 = 98, 124−100 = 24; 375−250−3 = 122.
        ("lifo", [("C", 10, 248, 150, 98), ("B", 5, 124, 100, 24)], [("A", 10, 100), ("B", 5, 100)], 122),
        # HIFO: B 10 (200, cost 20) then C 5 (75, cost 15): 48 and 49; 375−275−3 = 97.
        ("hifo", [("B", 10, 248, 200, 48), ("C", 5, 124, 75, 49)], [("A", 10, 100), ("C", 5, 75)], 97),
        # Average 450/30 = 15: removed 15·15 = 225 spread over A 10 (150) and B 5 (75) taken
        # first-in; 375−225−3 = 147; the open 15 shares carry the pool's 225 (B 5: 75, C 10: 150).
        ("average", [("A", 10, 248, 150, 98), ("B", 5, 124, 75, 49)], [("B", 5, 75), ("C", 10, 150)], 147),
    ],
)
def test_methods_with_a_partial_lot_close(method, want_pieces, want_open, realized):
    result = replay(three_buys(SELL_15), method=method)
    assert pieces(result) == [(lot, D(q), D(p), D(c), D(g)) for lot, q, p, c, g in want_pieces]
    assert open_lots(result) == [(lot, D(q), D(c)) for lot, q, c in want_open]
    assert result.fills["S"].realized_pnl == D(realized) == result.state.realized_pnl
    assert result.state.cash == D(9922)  # 10000 − 450 + 375 − 3


def test_specific_lots_then_the_method_for_the_rest():
    # Named C:5 (cost 75) and B (all 10 open, cost 200): 125−1−75 = 49, 250−2−200 = 48 → 97.
    named = replay(three_buys(sell("S", 15, 25, t(11, 4), commission="3", lots=[("C", 5), ("B", None)])), method="fifo")
    assert pieces(named) == [("C", D(5), D(124), D(75), D(49)), ("B", D(10), D(248), D(200), D(48))]
    # Named C:5 only; FIFO takes the other 10 from A (cost 100): 49 + 148 = 197 = 375 − 175 − 3.
    partly = replay(three_buys(sell("S", 15, 25, t(11, 4), commission="3", lots=[("C", 5)])), method="fifo")
    assert pieces(partly) == [("C", D(5), D(124), D(75), D(49)), ("A", D(10), D(248), D(100), D(148))]
    assert partly.fills["S"].realized_pnl == D(197)


@pytest.mark.parametrize(
    ("lots", "message"),
    [
        ([("A", 11)], "lot A has 10 shares left, fewer than the 11 named."),
        ([("A", 6), ("A", 6)], "lot A has 4 shares left, fewer than the 6 named."),
        ([("zzz", 1)], "zzz is not a lot of this position."),
        ([("A", 10), ("B", 10)], "the named lots add up to more than the 15 shares sold."),
    ],
)
def test_a_bad_lot_selection_says_what_is_left(lots, message):
    with pytest.raises(LotSelectionError) as caught:
        replay(three_buys(sell("S", 15, 25, t(11, 4), lots=lots)), method="fifo")
    assert str(caught.value) == f"Cannot sell S at 2026-11-04T00:00:00Z: {message}"
    assert caught.value.kind == "lot" and caught.value.at == t(11, 4)


def test_naming_a_closed_lot():
    # FIFO's first sell closes A; naming A afterwards is an error.
    facts = three_buys(sell("S1", 10, 25, t(11, 4)), sell("S2", 1, 25, t(11, 5), lots=[("A", 1)]))
    with pytest.raises(LotSelectionError, match="lot A is already closed"):
        replay(facts, method="fifo")


def test_holding_period_fields_are_exact():
    # The service calls a piece long when sold more than one year after acquisition.
    facts = [opening(cash="1000"), buy("A", 1, 10, t(11, 1, 9, 30)), sell("S", 1, 12, t(11, 30, 15))]
    [piece] = replay(facts, method="fifo").fills["S"].pieces
    assert (piece.acquired_at, piece.sold_at, piece.sell_trade_id) == (t(11, 1, 9, 30), t(11, 30, 15), "S")


def test_opening_shares_form_one_lot_at_the_given_cost():
    # 50 shares at --avg-cost 8 (anchor 10): cost 400; sell 20@10 FIFO → cost 160, gain 40.
    facts = [opening(qty="50", cash="0", cost="8", anchor="10"), sell("S", 20, 10, t(11, 1))]
    result = replay(facts, method="fifo")
    assert pieces(result) == [(OPENING_LOT, D(20), D(200), D(160), D(40))]
    assert [(lot.lot_id, lot.acquired_at, lot.qty, lot.cost_per_share) for lot in result.state.book.open_lots()] == [
        (OPENING_LOT, t(10, 1), D(30), D(8))
    ]


def test_back_dated_buy_under_fifo_and_lifo():
    # b1 10@100 (11-01), b2 10@50 (11-10, typed last), sell 5@120 (11-20).
    # FIFO takes b1: 600 − 500 = 100. LIFO takes b2, the latest in time: 600 − 250 = 350.
    facts = [opening(), buy("b1", 10, 100, t(11, 1)), sell("s1", 5, 120, t(11, 20)), buy("b2", 10, 50, t(11, 10))]
    assert replay(facts, method="fifo").fills["s1"].realized_pnl == D(100)
    assert replay(facts, method="lifo").fills["s1"].realized_pnl == D(350)
    assert replay(facts, method="hifo").fills["s1"].realized_pnl == D(100)


def split_in_the_middle(*sells):
    # A 10@100 (cash 9000); 2:1 on 11-05 → A is 20 shares costing 1000 (50 each), anchor 50;
    # B 10@60 at 11-10 (cash 8400).
    return [opening(cash="10000"), buy("A", 10, 100, t(11, 1)), split("x", 2, 1, date(2026, 11, 5)),
            buy("B", 10, 60, t(11, 10)), *sells]


def test_split_in_the_middle_fifo():
    # sell 25@70: A 20 (1000) + B 5 (300) → 1750 − 1300 = 450; B 5 left costing 300 (60 each).
    result = replay(split_in_the_middle(sell("S", 25, 70, t(11, 20))), method="fifo")
    assert result.fills["S"].realized_pnl == D(450)
    assert [(lot.lot_id, lot.qty, lot.cost, lot.cost_per_share) for lot in result.state.book.open_lots()] == [("B", D(5), D(300), D(60))]
    assert result.state.cash == D(10150)  # 8400 + 1750


def test_split_in_the_middle_average_keeps_the_remainder_and_ends_at_zero():
    # Pool 30 shares costing 1600. Selling 25 removes 1600·25/30 = 1333.33… rounded to 24
    # decimals; the open 5 keep 1600 minus that; selling them removes it all: basis exactly 0.
    result = replay(split_in_the_middle(sell("S", 25, 70, t(11, 20)), sell("T", 5, 70, t(11, 21))))
    removed = D("1333.333333333333333333333333")
    assert result.fills["S"].realized_pnl == D(1750) - removed
    assert result.fills["T"].realized_pnl == D(350) - (D(1600) - removed)
    assert result.state.cost_basis == 0 and result.state.avg_cost is None
    assert result.state.realized_pnl == D(2100) - D(1600)  # every share's proceeds less all cost


def test_cost_share_rounds_only_when_inexact():
    assert cost_share(D(100), D(4), D(1)) == D(25)
    assert cost_share(D(100), D(3), D(1)) == D("33.333333333333333333333333")
    assert cost_share(D(100), D(3), D(3)) == D(100)


def test_hifo_ties_take_the_earliest_lot():
    book = LotBook("hifo")
    for lot_id in ("x", "y", "z"):
        book.open(lot_id, t(11, 1), D(1), D(10))
    assert [take.lot_id for take in book.close(D(2))] == ["x", "y"]


def test_many_open_lots_snapshot_round_trip_and_fifo_order():
    book = LotBook("fifo")
    for i in range(10_000):
        book.open(f"L{i}", t(11, 1), D(1), D(i + 1))
    copy = LotBook.from_snapshot(book.snapshot())
    assert [take.lot_id for take in copy.close(D("2.5"))] == ["L0", "L1", "L2"]
    assert copy.qty == D("9997.5") and copy.cost == book.cost - D("4.5")  # 1 + 2 + half of 3


def test_unknown_method_is_a_programming_error():
    with pytest.raises(ValueError):
        LotBook("lofi")
