"""The shortest path a newcomer takes, on both engines."""

import json


def test_first_position_order_and_fill(vb):
    # Hand calculation: buy 11 at 145.18 with commission 1 → cash 10000 − 1596.98 − 1 = 8402.02.
    assert vb("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150").exit_code == 0
    placed = vb("orders", "place", "AAPL", "buy", "11", "--json")
    assert placed.exit_code == 0, placed.stderr
    order_id = json.loads(placed.stdout)["id"]
    filled = vb("orders", "fill", order_id, "--price", "145.18", "--commission", "1", "--json")
    assert filled.exit_code == 0, filled.stderr
    position = json.loads(vb("positions", "show", "AAPL", "--json").stdout)
    assert position["qty"] == "111"
    assert position["cash"] == "8402.02"
    assert position["anchor"] == "145.18"
