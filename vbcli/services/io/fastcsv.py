"""`vb export trades --format csv` on SQLite, the cron path: stored text straight to CSV.

The generic export turns each row into Decimals and datetimes and back into text. On SQLite
the stored text already is that text (ExactDecimal stores fmt(value); UTCDateTime stores
fixed-width UTC), so rows are read from the driver's cursor and only the few cells that need
it are rewritten. The output is byte for byte the generic path's (tests/test_export.py).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from vbcli.domain.numbers import fmt
from vbcli.services.shared.views import TRADE_FIELDS

if TYPE_CHECKING:
    from sqlmodel import Session

    from vbcli.services.io.source import Sink

CHUNK = 1000
DECIMALS = frozenset(("qty", "price", "commission", "notional", "realized_pnl", "anchor_before"))
TIMES = frozenset(("executed_at",))
_FORMULA_START = frozenset("=+-@\t\r'")


def _decimal(text: str | None) -> str:
    if text is None:
        return ""
    if "E" in text or "e" in text or (text[:1] == "-" and not text.strip("-0.")):
        return fmt(Decimal(text))  # not in fmt() form (exponent or negative zero): normalise as the generic path does
    return text


def _time(text: str | None) -> str:
    if text is None:
        return ""
    if len(text) == 27 and text[19] == "." and text[26] == "Z":
        return text[:19] + "Z" if text[20:26] == "000000" else text  # rfc3339: fractions only when present
    from vbcli.domain.timeparse import rfc3339
    from vbcli.store.columns import UTCDateTime

    return rfc3339(UTCDateTime().process_result_value(text, None))  # type: ignore[arg-type, return-value]


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if text[:1] in _FORMULA_START or not text.isprintable():
        from vbcli.render import csv_cell

        return csv_cell(text)  # neutralised and escaped like every CSV cell (render.csv_cell)
    return text


def write_trades_csv(session: Session, stmt: Any, sink: Sink) -> None:
    """Write the rows of `stmt` (the TRADE_FIELDS columns, in order) as the trades CSV."""
    cells = [_decimal if name in DECIMALS else _time if name in TIMES else _text for name in TRADE_FIELDS]
    writer = csv.writer(sink.stream, lineterminator="\n")
    writer.writerow(TRADE_FIELDS)
    # The statement runs through SQLAlchemy (its parameters bound by the column types); the rows
    # are fetched from the driver cursor, skipping the result processing this path does not need.
    result = session.connection().execute(stmt)
    try:
        while rows := result.cursor.fetchmany(CHUNK):
            writer.writerows([[convert(value) for convert, value in zip(cells, row)] for row in rows])
            if len(rows) == CHUNK:
                sink.chunk_done()
    finally:
        result.close()
