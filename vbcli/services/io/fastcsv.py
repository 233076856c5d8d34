"""`vb export trades --format csv` on SQLite, the cron path: stored text straight to CSV.

The generic export turns each row into Decimals and datetimes and back into text. On SQLite
the stored text already is that text (ExactDecimal stores fmt(value); UTCDateTime stores
fixed-width UTC), so SQLite joins each row's cells into its CSV line (a time's RFC 3339 text
drops a zero fraction), and Python checks whole chunks of lines at once that no cell needs
quoting or rewriting. A row that does is read back by id and written cell by cell. The output
is byte for byte the generic path's (tests/test_export.py).
"""

from __future__ import annotations

import csv
import io
import re
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


def _line_sql(columns: tuple[str, ...]) -> str:
    """SQL: the row's cells joined by commas, NULL when a decimal has an exponent or the time is
    not in its stored fixed width (what SQLite tests cheaply: GLOB and the like on every row
    cost more than the few string tests of _plain in Python)."""
    checks, cells = [], []
    for name in columns:
        column = f"trades.{name}"
        if name in TIMES:
            checks.append(f"{column} GLOB '????-??-??T??:??:??.??????Z'")
            cells.append(f"CASE WHEN substr({column}, 21, 6) = '000000' THEN substr({column}, 1, 19) || 'Z' ELSE {column} END")
            continue
        if name in DECIMALS:
            checks.append(f"coalesce(instr({column}, 'E') + instr({column}, 'e'), 0) = 0")
        cells.append(f"coalesce({column}, '')")
    line = " || ',' || ".join(cells)
    return f"CASE WHEN {' AND '.join(checks)} THEN {line} END"


LINE_SQL = _line_sql(TRADE_FIELDS)  # selected with the id by services/io/exporting
_FORMULA_CELL = re.compile(r",([=+\-@'][^,]*)")  # in lines joined by commas, after a leading comma
_NUMBER = re.compile(r"[+-][0-9]+(?:\.[0-9]+)?")


def _plain(text: str, lines: int) -> bool:
    """Whether `lines` lines from SQLite, joined by commas, are as csv.writer, _text and _decimal
    write them: printable ASCII without quote, no comma but the separators, and every cell that
    starts like a formula a signed number other than zero (render.csv_cell leaves those; a
    negative zero decimal would be rewritten)."""
    return (text.isascii() and text.isprintable() and '"' not in text and text.count(",") == len(TRADE_FIELDS) * lines - 1
            and all(_NUMBER.fullmatch(cell) and cell.strip("+-0.") for cell in _FORMULA_CELL.findall("," + text)))


def write_trades_csv(session: Session, stmt: Any, sink: Sink) -> None:
    """Write the trades of `stmt` (a trades query selecting LINE_SQL, then the id) as the trades CSV."""
    connection = session.connection()
    cells = [_decimal if name in DECIMALS else _time if name in TIMES else _text for name in TRADE_FIELDS]
    by_id = f"SELECT {', '.join(TRADE_FIELDS)} FROM trades WHERE id = ?"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line_of(line: str | None, trade_id: str) -> str:
        """The line as written: SQLite's when plain, else cell by cell from the stored row."""
        if line is not None and _plain(line, 1):
            return line + "\n"
        row = connection.connection.dbapi_connection.execute(by_id, (trade_id,)).fetchone()  # type: ignore[union-attr]
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([convert(value) for convert, value in zip(cells, row)])
        return buffer.getvalue()

    write = sink.stream.write
    write(",".join(TRADE_FIELDS) + "\n")
    # The statement runs through SQLAlchemy (its parameters bound by the column types); the rows
    # are fetched from the driver cursor, skipping the result processing this path does not need.
    result = connection.execute(stmt)
    try:
        while rows := result.cursor.fetchmany(CHUNK):
            lines = [line for line, _ in rows]
            if None not in lines and _plain(",".join(lines), len(lines)):
                write("\n".join(lines) + "\n")
            else:
                write("".join([line_of(line, trade_id) for line, trade_id in rows]))
            if len(rows) == CHUNK:
                sink.chunk_done()
    finally:
        result.close()
