"""The one input reader (vbcli/services/io/reader.py): each file case of issue 17 by its fixture.

Every refusal is checked for its exact exit code and `FILE:LINE: message`; the files are in
tests/fixtures/input/ (checked in byte for byte, see .gitattributes there).
"""

from __future__ import annotations

import io
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbcli.errors import BadInputData, UsageError, VbError
from vbcli.render import csv_cell
from vbcli.services.io.columns import Field, Schema, parse_mapping
from vbcli.services.io.fills import parse_fill
from vbcli.services.io.reader import open_table, read_text
from vbcli.services.io.schemas import BARS, QUOTES, TRADES

FIXTURES = Path(__file__).parent / "fixtures" / "input"


def rows(name: str, schema: Schema = TRADES, **kwargs) -> list[tuple[int, dict[str, str]]]:
    with open_table(str(FIXTURES / name), schema, **kwargs) as table:
        return list(table.rows())


def refusal(name: str, schema: Schema = TRADES, **kwargs) -> tuple[int, list[str]]:
    with pytest.raises(VbError) as caught:
        rows(name, schema, **kwargs)
    prefix = str(FIXTURES / name)
    return caught.value.exit_code, [d.replace(prefix, "F") for d in caught.value.details]


def fills(name: str, **kwargs) -> list[tuple]:
    return [(f.line, f.ref, f.side, str(f.qty), str(f.price), str(f.commission), f.key)
            for f in (parse_fill(line, row) for line, row in rows(name, **kwargs)) if f]


# The same two fills, spelled four ways.
BUY_SELL = [(2, "AAPL", "buy", "10", "145.5", "1", None), (3, "AAPL", "sell", "4", "160.25", "0", None)]


def test_excel_csv_utf8_with_bom_and_crlf():
    assert fills("excel_bom_crlf.csv") == [(*BUY_SELL[0][:-1], "x1"), (*BUY_SELL[1][:-1], "x2")]


def test_semicolon_separated():
    assert fills("semicolon.csv") == BUY_SELL


def test_broker_header_symbol_action_quantity_trade_date():
    with open_table(str(FIXTURES / "broker_actions.csv"), TRADES) as table:
        assert table.unused == ["Account"]  # named, so the CLI can say it is not read
        assert table.header is not None and table.header.names["executed_at"] == "Trade Date"
    assert fills("broker_actions.csv") == BUY_SELL


def test_broker_header_tab_ticker_type_bought_sold_trade_id():
    assert fills("broker_bought_sold.csv") == [(*BUY_SELL[0][:-1], "T-1"), (*BUY_SELL[1][:-1], "T-2")]


def test_unquoted_thousands_separator_is_a_field_count_problem():
    assert refusal("thousands_unquoted.csv") == (7, ["F:2: 5 fields but the header has 4 — an unquoted thousands separator?"])


def test_quoted_thousands_separator_is_refused_not_misread():
    (line, row), = rows("thousands_quoted.csv")
    with pytest.raises(UsageError) as caught:
        parse_fill(line, row)
    assert caught.value.message == ("price '1,000.50' has a digit separator or a decimal comma; "
                                    "write it with a . decimal mark and no grouping (1234.5)")


def test_duplicate_column():
    assert refusal("duplicate_columns.csv") == (
        7, ["F:1: columns 4 and 5 are both 'price'; rename or remove one (vb will not guess which holds the figure)"])


def test_two_synonyms_of_one_field_need_a_map():
    assert refusal("two_commission_columns.csv") == (
        7, ["F:1: columns 'fees' and 'comm/fee' could both be commission; choose one with --map commission=COLUMN"])
    chosen = rows("two_commission_columns.csv", mapping=parse_mapping(["commission=Comm/Fee"], TRADES))
    assert chosen[0][1]["commission"] == "2"


def test_binary_file_names_the_line_and_column():
    assert refusal("binary.sqlite") == (7, ["F:1: binary data (a NUL byte at column 16); vb reads UTF-8 text files"])


def test_invalid_utf8_names_line_5():
    # "AAPL,buy,1,100,caf" is 18 characters: the Latin-1 é is the 19th.
    assert refusal("invalid_utf8_line5.csv") == (7, ["F:5: not UTF-8 (byte 0xe9 at column 19); save the file as UTF-8"])


def test_utf16_is_named():
    assert refusal("utf16.csv") == (7, ["F:1: the file is UTF-16 text; save it as UTF-8 (in a spreadsheet: CSV UTF-8)"])


@pytest.mark.parametrize("name", ["empty.csv", "blank_lines.csv"])
def test_empty_input(name):
    assert refusal(name) == (7, [f"F:1: empty input: expected {TRADES.what}"])


def test_ambiguous_delimiter_says_which():
    assert refusal("ambiguous_delimiter.csv") == (7, [
        "F:1: the header has both ',' and ';' outside quotes; separate the columns with one of them and quote names that hold the other"])


def test_control_characters_are_refused_in_every_text_field():
    assert refusal("escape_key.csv") == (7, ["F:2: key contains the control character '\\x1b'; vb keeps text printable"])


def test_ndjson_splits_lines_on_newline_only():
    got = rows("line_separator_key.ndjson", format="ndjson")
    assert [(line, row["key"]) for line, row in got] == [(1, "a\u2028b"), (2, "c")]


def test_json_duplicate_keys_and_nesting(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('[\n{"symbol": "A", "side": "buy", "qty": 1, "price": 1},\n{"qty": 1, "qty": 2}\n]\n')
    with pytest.raises(BadInputData) as caught, open_table(str(path), TRADES, format="json") as table:
        list(table.rows())
    assert caught.value.details == [f"{path}:3: the key 'qty' appears twice in one object"]
    path.write_text("[" * 100_000)
    with pytest.raises(BadInputData), open_table(str(path), TRADES, format="json") as table:
        list(table.rows())


def test_json_numbers_stay_exact(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('[{"symbol": "A", "side": "buy", "qty": 0.1, "price": 12345678901234.123456789012}]')
    assert [row["price"] for _, row in rows(str(path), format="json")] == ["12345678901234.123456789012"]


def test_short_rows_are_refused_but_trailing_empty_cells_are_not(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("symbol,side,qty,price\nAAPL,buy,1,2,,\nAAPL,buy,1\n")
    with pytest.raises(BadInputData) as caught, open_table(str(path), TRADES) as table:
        list(table.rows())
    assert caught.value.details == [f"{path}:3: 3 fields but the header has 4"]


def test_missing_columns_and_unknown_map_field(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("ticker,last\nAAPL,1\n")
    assert rows(str(path), QUOTES) == [(2, {"symbol": "AAPL", "price": "1"})]
    path.write_text("when,close\n2026-01-02,1\n")
    with pytest.raises(BadInputData) as caught, open_table(str(path), BARS):
        pass
    assert caught.value.details == [f"{path}:1: no date column (also accepted: time, timestamp, day); "
                                    "the header needs date,price rows (or date,close), or use --map date=COLUMN"]
    assert rows(str(path), BARS, mapping=parse_mapping(["date=When"], BARS))[0][1]["date"] == "2026-01-02"
    with pytest.raises(UsageError) as wrong:
        parse_mapping(["dat=When"], BARS)
    assert wrong.value.message == ("--map 'dat' is not a field of date,price rows (or date,close) (did you mean date?); "
                                   "the fields are date, price, dividend, split.")


class _Endless(io.RawIOBase):
    """`size` bytes of 'x' (one line, no newline) produced on demand, never held whole."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        return n


def test_a_200_mb_line_is_refused_without_reading_it_whole(monkeypatch):
    stream = io.BufferedReader(_Endless(200 << 20))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stream))
    tracemalloc.start()
    try:
        with pytest.raises(BadInputData) as caught, open_table("-", TRADES):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.details == ["<stdin>:1: the line is longer than 1 MiB; vb reads rows of text, "
                                    "not one giant line (is this the right file?)"]
    assert peak < 16 << 20  # a few MiB of buffers, not 200


def test_documents_are_read_whole_but_checked(tmp_path):
    path = tmp_path / "all.json"
    path.write_bytes(b'\xef\xbb\xbf{"vb_export": 1}\r\n')
    assert read_text(str(path), what="a vb export all document") == (str(path), '{"vb_export": 1}\r\n')
    path.write_bytes(b"")
    with pytest.raises(BadInputData) as caught:
        read_text(str(path), what="a vb export all document")
    assert caught.value.details == [f"{path}:1: empty input: expected a vb export all document"]


NOTE = Schema("notes", (Field("note", exact=True),))


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=40)
       .filter(lambda t: not any(ord(c) < 32 and c not in "\t\n" or 127 <= ord(c) < 160 for c in t)))
def test_csv_writer_and_reader_round_trip_any_text(tmp_path_factory, text):
    """What render.csv_cell writes (with its formula guard), the reader gives back exactly."""
    import csv

    path = tmp_path_factory.mktemp("rt") / "notes.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([["note"], [csv_cell(text)], ["x"]])
    got = [row["note"] for _, row in rows(str(path), NOTE)]
    assert got[:-1] == ([text] if csv_cell(text).strip() else [])  # a blank row is skipped, as every blank row
