"""Issue 17 through the CLI: every file case of tests/fixtures/input/ with its exact exit code,
message and nothing written; round trips of keys, symbols and notes; the typed-value cases."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_cli_runner
from helpers import js, ok

FIXTURES = Path(__file__).parent / "fixtures" / "input"


@pytest.fixture
def vb(sqlite_url):
    return make_cli_runner(sqlite_url)


@pytest.fixture
def aapl(vb):
    ok(vb("positions", "add", "AAPL", "--qty", "100", "--cash", "10000", "--anchor", "150", "--at", "2025-01-01"))
    return vb


def state(vb) -> tuple:
    return (js(vb("positions", "list", "--json")), js(vb("trades", "list", "--json")), len(js(vb("events", "list", "--json"))))


# ---- files ---------------------------------------------------------------------------------------

# Buy 10 at 145.5 (commission 1), sell 4 at 160.25 (commission 0):
# qty 100 + 10 − 4 = 106; cash 10000 − 1455 − 1 + 641 = 9185.
@pytest.mark.parametrize("name", ["excel_bom_crlf.csv", "semicolon.csv", "broker_actions.csv", "broker_bought_sold.csv"])
def test_real_world_files_import_what_they_say(aapl, name):
    done = ok(aapl("import", "trades", str(FIXTURES / name), "--json"))
    assert (json.loads(done.stdout)["imported"], json.loads(done.stdout)["skipped"]) == (2, 0)
    position = js(aapl("positions", "show", "AAPL", "--json"))
    assert (position["qty"], Decimal(position["cash"])) == ("106", Decimal("9185"))
    if name == "broker_actions.csv":
        assert done.stderr == f"vb: {FIXTURES / name}: column not read: Account (--map FIELD=COLUMN reads one).\n"


REFUSED = [
    ("thousands_unquoted.csv", "2: 5 fields but the header has 4 — an unquoted thousands separator?"),
    ("thousands_quoted.csv", "2: price '1,000.50' has a digit separator or a decimal comma; "
                             "write it with a . decimal mark and no grouping (1234.5)"),
    ("duplicate_columns.csv", "1: columns 4 and 5 are both 'price'; rename or remove one (vb will not guess which holds the figure)"),
    ("two_commission_columns.csv", "1: columns 'fees' and 'comm/fee' could both be commission; choose one with --map commission=COLUMN"),
    ("binary.sqlite", "1: binary data (a NUL byte at column 16); vb reads UTF-8 text files"),
    ("invalid_utf8_line5.csv", "5: not UTF-8 (byte 0xe9 at column 19); save the file as UTF-8"),
    ("utf16.csv", "1: the file is UTF-16 text; save it as UTF-8 (in a spreadsheet: CSV UTF-8)"),
    ("empty.csv", "1: empty input: expected position (or position_id or symbol), side, qty and price columns"),
    ("ambiguous_delimiter.csv", "1: the header has both ',' and ';' outside quotes; "
                                "separate the columns with one of them and quote names that hold the other"),
    ("escape_key.csv", "2: key contains the control character '\\x1b'; vb keeps text printable"),
]


@pytest.mark.parametrize(("name", "message"), REFUSED, ids=[name for name, _ in REFUSED])
def test_bad_files_are_refused_with_the_line_and_nothing_written(aapl, name, message):
    before = state(aapl)
    done = aapl("import", "trades", str(FIXTURES / name))
    assert done.exit_code == 7 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0] == f"{FIXTURES / name}:{message}" and len(lines) == 2 and lines[1].startswith("vb: ")
    assert state(aapl) == before


def test_empty_stdin_and_a_huge_stdin_line(aapl):
    before = state(aapl)
    empty = aapl("import", "trades", "-", input="")
    assert empty.exit_code == 7 and empty.stderr.splitlines()[0].startswith("<stdin>:1: empty input")
    huge = aapl("import", "trades", "-", input="symbol,side,qty,price\n" + "x" * (3 << 20))
    assert huge.exit_code == 7
    assert huge.stderr.splitlines()[0] == "<stdin>:2: the line is longer than 1 MiB; vb reads rows of text, not one giant line (is this the right file?)"
    assert state(aapl) == before


def test_map_chooses_a_column(aapl):
    ok(aapl("import", "trades", str(FIXTURES / "two_commission_columns.csv"), "--map", "commission=Comm/Fee"))
    assert js(aapl("trades", "list", "--json"))[0]["commission"] == "2"
    wrong = aapl("import", "trades", str(FIXTURES / "two_commission_columns.csv"), "--map", "comission=fees")
    assert wrong.exit_code == 2 and "(did you mean commission?)" in wrong.stderr


def test_dry_run_lists_the_rows_it_would_write(aapl):
    before = state(aapl)
    done = ok(aapl("import", "trades", str(FIXTURES / "thousands_quoted.csv").replace("thousands_quoted", "semicolon"),
                   "--dry-run", "--json"))
    rows = json.loads(done.stdout)
    assert [(r["symbol"], r["side"], r["qty"], r["price"], r["commission"]) for r in rows] == [
        ("AAPL", "buy", "10", "145.5", "1"), ("AAPL", "sell", "4", "160.25", "0")]
    assert "2 of 2 rows would be imported" in done.stderr and "nothing was written" in done.stderr
    assert state(aapl) == before


def test_ndjson_keeps_a_line_separator_inside_a_key(aapl):
    ok(aapl("import", "trades", str(FIXTURES / "line_separator_key.ndjson")))
    assert [t["key"] for t in js(aapl("trades", "list", "--json"))] == ["c", "a\u2028b"]


# ---- round trips --------------------------------------------------------------------------------

KEYS = st.text(st.characters(min_codepoint=32, blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda k: k.strip() != "")
SYMBOLS = st.from_regex(r"[A-Z0-9][A-Z0-9.\-_:^=]{0,6}", fullmatch=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.one_of(KEYS, st.sampled_from(["'=x", "=1+2", "'", "''", "-x", "@a", " lead", "trail ", "'-3.5"])),
       symbol=st.one_of(SYMBOLS, st.sampled_from(["EURUSD=X", "A-B", "BRK.B"])),
       form=st.sampled_from(["csv", "json"]))
def test_export_import_round_trip_of_keys_and_symbols(tmp_path_factory, key, symbol, form):
    home = tmp_path_factory.mktemp("rt")
    first, second = make_cli_runner(f"sqlite:///{home}/a.sqlite"), make_cli_runner(f"sqlite:///{home}/b.sqlite")
    for vb in (first, second):
        ok(vb("positions", "add", symbol, "--qty", "0", "--cash", "1000", "--at", "2025-01-01"))
    ok(first("trades", "add", symbol, "buy", "1", "--price", "1", "--key", key, "--at", "2026-01-02T00:00:00Z"))
    exported = ok(first("export", "trades", "--format", form)).stdout
    path = home / f"t.{form}"
    path.write_text(exported, encoding="utf-8")
    again = json.loads(ok(first("import", "trades", str(path), "--json")).stdout)
    assert (again["imported"], again["skipped"]) == (0, 1)  # the key came back exactly: an idempotent replay
    # Into another ledger the ids mean nothing: read the position from the symbol column.
    ok(second("import", "trades", str(path), "--map", "position_id=symbol"))
    (trade,) = js(second("trades", "list", "--json"))
    assert (trade["key"], trade["symbol"]) == (key, symbol)


NOTES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40).filter(
    lambda t: not any(ord(c) < 32 and c not in "\t\n" or 127 <= ord(c) < 160 for c in t))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(note=st.one_of(NOTES, st.sampled_from(["'=x", "=HYPERLINK(\"x\")", "\tx", "a\nb", "'"])))
def test_notes_round_trip_through_export_all_and_orders_csv(tmp_path_factory, note):
    import csv
    import io

    home = tmp_path_factory.mktemp("notes")
    first, second = make_cli_runner(f"sqlite:///{home}/a.sqlite"), make_cli_runner(f"sqlite:///{home}/b.sqlite")
    ok(first("positions", "add", "KO", "--qty", "0", "--cash", "1000"))
    ok(first("orders", "place", "KO", "buy", "1", "--limit", "1", "--note", note, "--force"))
    (home / "all.json").write_text(ok(first("export", "all", "--format", "json")).stdout, encoding="utf-8")
    ok(second("import", "all", str(home / "all.json")))
    assert [o["note"] for o in js(second("orders", "list", "--json"))] == [note]
    cell = next(csv.DictReader(io.StringIO(ok(first("export", "orders", "--format", "csv")).stdout)))["note"]
    assert cell == ("'" + note if note and note[0] in "=+-@\t\r'" else note)  # the guard the reader removes


# ---- typed values -------------------------------------------------------------------------------

def one_line(done, code: int) -> str:
    assert done.exit_code == code and done.stdout == "", done.stderr
    (line,) = done.stderr.splitlines()
    return line


def test_typed_values(aapl):
    vb = aapl
    assert one_line(vb("positions", "deposit", "AAPL", "-100"), 2) == (
        "vb: -100: amounts are positive; use `vb positions withdraw POS AMOUNT` to take cash out (see `vb positions deposit --help`).")
    assert "use `vb positions deposit" in one_line(vb("positions", "withdraw", "AAPL", "-1.5"), 2)
    assert "the side (buy or sell) says which way" in one_line(vb("trades", "add", "AAPL", "buy", "-1", "--price", "1"), 2)
    assert one_line(vb("events", "list", "--type", "order_fill"), 2) == (
        "vb: --type 'order_fill' is not an event type vb writes or this ledger holds (did you mean order_filled?).")
    assert "(did you mean filled?)" in one_line(vb("orders", "list", "--status", "filed"), 2)
    assert "(did you mean json?)" in one_line(vb("trades", "list", "--format", "jsn"), 2)
    assert one_line(vb("trades", "list", env={"VB_FORMAT": "yaml"}), 2) == (
        "vb: VB_FORMAT must be one of table, plain, csv, json, ndjson, not 'yaml'.")
    assert one_line(vb("trades", "list", "--json", "--format", "csv"), 2) == (
        "vb: --json and --format csv ask for different formats; give one of them.")
    assert one_line(vb("trades", "list", "--since", "2026-12-01", "--until", "2026-11-01"), 2) == (
        "vb: --since 2026-12-01 is after --until 2026-11-01; nothing could match (swap them?).")
    assert one_line(vb("export", "events", "--since", "20261201", "--until", "20261101"), 2).startswith("vb: --since 20261201 is after")
    ok(vb("trades", "add", "AAPL", "buy", "1", "--price", "1", "--at", "2026-11-26T10:00:00Z"))
    assert len(js(vb("trades", "list", "--since", "20261126", "--until", "20261126", "--json"))) == 1


def test_evaluate_all_names_symbols_without_a_position(aapl, tmp_path):
    prices = tmp_path / "q.csv"
    prices.write_text("symbol,price\nAAPL,150\nZZZ,3\n")
    done = ok(aapl("evaluate", "--all", "--prices", str(prices), "--json"))
    assert [r["action"] for r in json.loads(done.stdout)] == ["HOLD"]
    assert done.stderr == f"vb: warning: {prices}:3: no open position for ZZZ; its price is not used\n"
    before = state(aapl)
    strict = aapl("evaluate", "--all", "--prices", str(prices), "--strict", "--place")
    assert strict.exit_code == 7 and strict.stdout == ""
    assert strict.stderr.splitlines()[0] == f"{prices}:3: no open position for ZZZ"
    assert state(aapl) == before


def test_every_character_class_of_keys_is_checked_on_import(aapl, tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("symbol,side,qty,price,key\nAAPL,buy,1,1," + "k" * 201 + "\n")
    done = aapl("import", "trades", str(path))
    assert done.exit_code == 7 and f"{path}:2: key is longer than 200 characters" in done.stderr
