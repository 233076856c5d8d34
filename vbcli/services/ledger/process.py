"""`vb process` (SPEC §8.0): every due split, ex-date and payment, in one transaction (cron)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from vbcli.services.ledger import dividends, splits


def process(session: Session, *, as_of: date) -> list[dict[str, Any]]:
    """Splits first (a split at the start of a day precedes that day's ex-date), then dividends."""
    done = [{"kind": "split", "id": row["id"], "position_id": row["position_id"], "symbol": row["symbol"],
             "date": row["date"], "done": f"split {row['ratio']} applied"} for row in splits.process(session, as_of=as_of)]
    done += [{"kind": "dividend", "id": row["id"], "position_id": row["position_id"], "symbol": row["symbol"],
              "date": row["ex_date"], "done": row["done"]} for row in dividends.process(session, as_of=as_of)]
    return done
