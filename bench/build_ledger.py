"""Build a benchmark ledger of N trades across a few dozen positions, fast.

The schema comes from vb itself (`vb db upgrade`); rows are written with sqlite3 executemany
in vb's storage format (decimals as text, UTC times as fixed-width ISO text). Positions end
with the qty and cash their trades imply, so exports and journals balance.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

POSITIONS = 40
START_QTY = Decimal(1000)
START_CASH = Decimal(100000)
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _id(prefix: str, n: int) -> str:
    return f"{prefix}{n:026d}"


def _ts(moment: datetime) -> str:
    return moment.strftime(TS_FORMAT)


def trade_rows(n: int, seed: int = 7):
    """(position index, side, qty, price) for n fills: alternating small buys and sells."""
    rng = random.Random(seed)
    for i in range(n):
        side = "buy" if (i // POSITIONS) % 2 == 0 else "sell"
        price = Decimal(9000 + rng.randrange(2000)) / 100
        yield i % POSITIONS, side, Decimal(rng.randrange(1, 5)), price


def build(path: Path, n: int, vb: str) -> None:
    """Create a ledger at `path` with `n` trades."""
    if path.exists():
        path.unlink()
    env = {**os.environ, "APP_AUTO_CREATE": "true"}
    subprocess.run([vb, "--db", str(path), "db", "upgrade"], check=True, env=env, capture_output=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    portfolio_id = conn.execute("SELECT id FROM portfolios WHERE name = 'default'").fetchone()[0]
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    qty = [START_QTY] * POSITIONS
    cash = [START_CASH] * POSITIONS
    pos_ids = [_id("pos_", i) for i in range(POSITIONS)]
    symbols = [f"S{i:02d}" for i in range(POSITIONS)]
    orders, trades, events = [], [], []
    prev_hash = ""

    def flush() -> None:
        conn.executemany("INSERT INTO orders VALUES (?,?,?,?,NULL,'filled',?,?,'0',NULL,'',0,'trade',?,?)", orders)
        conn.executemany("INSERT INTO trades VALUES (?,?,?,?,?,?,?,'0',?,'0',?,?,'executed',NULL,'',NULL,?,?,NULL)", trades)  # lots (0004): none
        conn.executemany("INSERT INTO events VALUES (?,?,?,'order_filled',?,?,?,?,'{}',?,?)", events)
        orders.clear(), trades.clear(), events.clear()

    for i, (p, side, q, price) in enumerate(trade_rows(n)):
        if side == "sell" and q > qty[p]:
            side = "buy"
        notional = q * price
        qty[p] += q if side == "buy" else -q
        cash[p] += -notional if side == "buy" else notional
        when = _ts(start + timedelta(minutes=i))
        oid, tid = _id("ord_", i), _id("trd_", i)
        orders.append((oid, pos_ids[p], side, str(q), str(q), str(price), when, when))
        trades.append((tid, oid, pos_ids[p], symbols[p], side, str(q), str(price), str(notional), str(price), when, when, str(notional)))
        digest = hashlib.sha256(f"{prev_hash}{tid}".encode()).hexdigest()
        events.append((_id("evt_", i), i + 1, when, pos_ids[p], oid, tid, f"{side} {q} {symbols[p]} at {price}", prev_hash, digest))
        prev_hash = digest
        if len(trades) >= 50_000:
            flush()
    flush()
    now = _ts(start)
    policy = ("0.03", "0.03", "1.6667", "0", "0", "100", "0", "0", "hold", 1, "0.5", "0.25", "0.75", "0.2", 5)
    for p in range(POSITIONS):
        conn.execute(
            "INSERT INTO positions (id, portfolio_id, symbol, status, qty, cash, anchor, avg_cost, dividend_receivable,"
            " realized_pnl, total_commission, total_dividends, opening_qty, opening_cash, opening_avg_cost, trigger_up,"
            " trigger_down, rebalance_ratio, commission_rate, min_qty, min_notional, lot_size, qty_step, below_min,"
            " auto_rebalance, anchor_reset, min_stock_alloc, max_stock_alloc, max_trade, max_orders_per_day, created_at,"
            " updated_at) VALUES (?,?,?,'open',?,?,'100','100','0','0','0','0',?,?,'100',?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (pos_ids[p], portfolio_id, symbols[p], str(qty[p]), str(cash[p]), str(START_QTY), str(START_CASH), *policy, now, now),
        )
    conn.execute("UPDATE ledger_head SET event_count = ?, last_hash = ? WHERE id = 1", (n, prev_hash))
    conn.commit()
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
