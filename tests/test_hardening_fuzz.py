"""Hostile arguments to every command: never exit 1, no traceback, no write on failure, no raw escapes.

Hypothesis builds argument lists for each leaf command of the real Typer app from its own
parameters (so a new command is fuzzed without editing this file), mixing plausible values
with hostile ones: NaN, Infinity, 1e999, -0, huge digit strings, impossible dates, escape
sequences, very long strings and unknown ids. The ledger is a SQLite file with a position,
an open order, a fill and a dividend; its whole content is hashed before and after.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_cli_runner

NUMBERS = ["NaN", "nan", "-nan", "sNaN", "Infinity", "-Infinity", "inf", "1e999", "-1e999", "1e-999", "-0", "0",
           "-1", "9" * 400, "0." + "0" * 60 + "1", "1_000", "1,5", "0x10", "١٢", "+5", " 5 ", "5%", "500%",
           "1e3", "10", "150", "0.1", "3%", "-3%", "%", "1e", "."]
DATES = ["2026-02-30", "2026-13-01", "0000-01-01", "9999-12-31", "10000-01-01", "2026-11-26T25:00:00Z",
         "2026-11-26T14:30:00+25:00", "2026-11-26T14:30:00", "yesterday", "now", "today", "2026-01-01", "", "-1"]
HOSTILE_TEXT = ["\x1b[2J", "AAPL\r\x1b[31mX", "\x07bell", "\x7f", "\x9b31m", "\u202eLPAA", "a\nb", "\t",
                "=cmd|' /C calc'!A0", "../../etc/passwd", "A" * 5000, "é" * 300, "'; DROP TABLE trades; --", ""]
IDS = ["pos_" + "0" * 26, "ord_zzzzzz", "trd_01", "evt_", "div_xxxxxxxx", "pf_000000", "ord_", "trd_", "div_"]
WORDS = ["AAPL", "aapl", "default", "default/AAPL", "nope/AAPL", "buy", "sell", "BUY", "hold", "json", "csv",
         "ndjson", "table", "plain", "ledger", "beancount", "bash", "zsh", "fish", "open", "filled", "cancelled",
         "clip", "reject", "USD", "-", "--help", "--", "-x"]
CONTROL_ALPHABET = st.characters(codec="utf-8", exclude_characters="\x00", max_codepoint=0x2FF)

SKIP_OPTIONS = {"out", "help"}  # --out is exercised by test_export's engineer; it must not write here
SKIP_ARGUMENTS = {("db", "backup"): "dest"}  # writes a file wherever it is told


def leaf_commands() -> dict[tuple[str, ...], Any]:
    from vbcli.cli import app

    root = typer.main.get_command(app)
    context = typer.Context(root)
    found: dict[tuple[str, ...], Any] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "list_commands"):  # typer vendors its own click: duck typing, not isinstance
            for name in command.list_commands(context):
                walk(command.get_command(context, name), (*path, name))
        else:
            found[path] = command

    walk(root, ())
    # Servers run until stopped: tests/test_serve_start.py and tests/test_cmdserver.py test them.
    for path in [p for p in found if p[0] in ("serve", "server")]:
        del found[path]
    return found


COMMANDS = leaf_commands()


def token(seed_ids: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NUMBERS), st.sampled_from(DATES), st.sampled_from(HOSTILE_TEXT), st.sampled_from(IDS),
        st.sampled_from(WORDS), st.sampled_from(seed_ids),
        st.text(CONTROL_ALPHABET, max_size=30),
    )


@st.composite
def argv_for(draw: st.DrawFn, path: tuple[str, ...], seed_ids: list[str]) -> list[str]:
    """An argument list for `path`: its positionals, then a random subset of its options."""
    command = COMMANDS[path]
    values = token(seed_ids)
    argv = list(path)
    for param in command.params:
        if param.param_type_name == "argument" and SKIP_ARGUMENTS.get(path) != param.name:
            if param.required or draw(st.booleans()):
                argv.append(draw(values))
    for param in command.params:
        if param.param_type_name != "option" or param.name in SKIP_OPTIONS or not draw(st.booleans()):
            continue
        if param.is_flag:
            names = [*param.opts, *param.secondary_opts]
            argv.append(draw(st.sampled_from(names)))
        else:
            argv += [param.opts[0], draw(values)]
    return argv


# Valid commands on the seeded ledger; the fuzzer swaps one or two of their values for hostile ones,
# so each field's parsing is reached with every other field valid.
BASELINES: dict[tuple[str, ...], list[str]] = {
    ("portfolios", "add"): ["growth", "--currency", "EUR", "--description", "d", "--key", "k1"],
    ("positions", "add"): ["MSFT", "--qty", "10", "--cash", "1000", "--anchor", "100", "--avg-cost", "90",
                           "--trigger", "3%", "--max-alloc", "80%", "--below-min", "clip"],
    ("positions", "set"): ["AAPL", "--anchor", "151", "--ratio", "1.5", "--min-notional", "50", "--max-orders-per-day", "3"],
    ("positions", "show"): ["AAPL", "--price", "150"],
    ("positions", "deposit"): ["AAPL", "10.5", "--key", "k2"],
    ("positions", "withdraw"): ["AAPL", "10.5"],
    ("orders", "place"): ["AAPL", "sell", "1", "--limit", "160", "--note", "n", "--force"],
    ("orders", "fill"): ["{order}", "--price", "140", "--qty", "0.5", "--commission", "0.1", "--at", "2026-01-02"],
    ("trades", "add"): ["AAPL", "buy", "1", "--price", "150", "--commission", "1", "--at", "2026-01-02", "--key", "k3"],
    ("trades", "void"): ["{trade}", "--reason", "typo"],
    ("trades", "list"): ["AAPL", "--side", "buy", "--since", "2026-01-01", "--until", "today", "--limit", "5"],
    ("events", "list"): ["AAPL", "--type", "order_filled", "--since", "2026-01-01", "--limit", "3"],
    ("dividends", "add"): ["AAPL", "--per-share", "0.5", "--ex-date", "2099-02-01", "--pay-date", "2099-03-01",
                           "--withholding", "25%"],
    ("dividends", "process"): ["--date", "2026-01-01"],
    ("evaluate",): ["AAPL", "--price", "140"],
    ("export", "trades"): ["AAPL", "--since", "2026-01-01", "--format", "csv"],
}


@st.composite
def mutated(draw: st.DrawFn, path: tuple[str, ...], seed: dict[str, str]) -> list[str]:
    argv = [part.format(**seed) for part in BASELINES[path]]
    values = [i for i, part in enumerate(argv) if not part.startswith("--")]
    for index in draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True)):
        argv[index] = draw(token(list(seed.values())))
    return [*path, *argv]


def digest(path: Path) -> str:
    """Every row of every table, except the bookkeeping a refused placement may add (SPEC §6)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        h = hashlib.sha256()
        for table in tables:
            if table == "ledger_head":
                continue
            where = " WHERE type <> 'order_rejected'" if table == "events" else ""
            for row in conn.execute(f"SELECT * FROM {table}{where} ORDER BY 1"):  # noqa: S608 - our own names
                h.update(repr(row).encode())
        return h.hexdigest()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A ledger file to copy per test: AAPL with an open order, a fill and a dividend."""
    path = tmp_path_factory.mktemp("fuzz") / "seed.sqlite"
    cli = make_cli_runner(str(path))
    assert cli("positions", "add", "AAPL", "--at", "2020-01-01", "--qty", "100", "--cash", "10000", "--anchor", "150").exit_code == 0
    trade = json.loads(cli("trades", "add", "AAPL", "buy", "1", "--price", "150", "--json").stdout)
    order = json.loads(cli("orders", "place", "AAPL", "buy", "1", "--limit", "140", "--force", "--json").stdout)
    dividend = cli("dividends", "add", "AAPL", "--per-share", "0.5", "--ex-date", "2099-01-01", "--json")
    assert dividend.exit_code == 0, dividend.stderr
    ids = {"trade": trade["id"], "position": trade["position_id"], "order": order["id"],
           "dividend": json.loads(dividend.stdout)["id"], "short": order["id"][:6]}
    return path, ids


RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")  # all but \t and \n


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=lambda p: "-".join(p))
def test_hostile_arguments(path: tuple[str, ...], seeded: tuple[Path, dict[str, str]], tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = tmp_path / "ledger.sqlite"
    ledger.write_bytes(seeded[0].read_bytes())
    monkeypatch.chdir(tmp_path)  # any file a command reads or writes by a relative name lands here
    cli = make_cli_runner(str(ledger))

    strategy = argv_for(path, list(seeded[1].values()))
    if path in BASELINES:
        strategy = st.one_of(strategy, mutated(path, seeded[1]), mutated(path, seeded[1]))

    @settings(max_examples=20 if path in BASELINES else 8, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(argv=strategy)
    def check(argv: list[str]) -> None:
        before = digest(ledger)
        result = cli(*argv)
        shown = f"argv={argv!r}\nexit={result.exit_code}\nstderr={result.stderr[:500]!r}"
        assert result.exit_code != 1, shown
        assert "Traceback" not in result.stdout + result.stderr, shown
        assert not RAW_CONTROL.search(result.stdout), shown
        assert not RAW_CONTROL.search(result.stderr), shown
        if result.exit_code != 0 or "--dry-run" in argv:
            assert digest(ledger) == before, shown

    check()
