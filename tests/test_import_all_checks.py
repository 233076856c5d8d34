"""`vb import all` trusts nothing in the file (issue 18): every defect is exit 7 with
`FILE: path.to.field: message` and nothing imported; `db check` compares rows with their events."""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import make_cli_runner

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Doc:
    """A small ledger exported whole: one position (10 shares, 10000 cash), a deposit, two fills."""
    folder = tmp_path_factory.mktemp("source")
    cli = make_cli_runner(str(folder / "ledger.sqlite"))
    assert cli("positions", "add", "AAPL", "--qty", "10", "--cash", "10000", "--anchor", "150").exit_code == 0
    assert cli("positions", "deposit", "AAPL", "500").exit_code == 0
    assert cli("trades", "add", "AAPL", "buy", "2", "--price", "150", "--commission", "1").exit_code == 0
    assert cli("trades", "add", "AAPL", "sell", "1", "--price", "160", "--commission", "1").exit_code == 0
    out = folder / "all.json"
    assert cli("export", "all", "--format", "json", "--out", str(out)).exit_code == 0
    return json.loads(out.read_text())


def _import(doc: Doc | str, tmp_path: Path):  # type: ignore[no-untyped-def]
    source = tmp_path / "in.json"
    source.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    target = tmp_path / "target.sqlite"
    cli = make_cli_runner(str(target))
    return cli("import", "all", str(source)), cli, source


def test_the_untouched_export_imports_and_checks_clean(exported: Doc, tmp_path: Path) -> None:
    result, cli, _source = _import(exported, tmp_path)
    assert result.exit_code == 0, result.stderr
    assert cli("db", "check").exit_code == 0


def _trade(doc: Doc, side: str = "buy") -> dict[str, Any]:
    return next(t for t in doc["trades"] if t["side"] == side)


def _set(path: Callable[[Doc], dict[str, Any]], field: str, value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        path(doc)[field] = value
    return edit


def _drop_trade(doc: Doc) -> None:
    doc["trades"] = [t for t in doc["trades"] if t["side"] != "sell"]


def _forge_cash(doc: Doc) -> None:
    # Raise cash and opening cash together: every sum still agrees; only the event knows.
    position = doc["positions"][0]
    position["cash"] = str(json_decimal(position["cash"]) + 10000)
    position["opening_cash"] = "20000"


def json_decimal(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


def _duplicate_trade(doc: Doc) -> None:
    doc["trades"].append(copy.deepcopy(doc["trades"][0]))


POSITION = lambda doc: doc["positions"][0]  # noqa: E731
BUY_ROW = lambda doc: _trade(doc)  # noqa: E731

# (edit, a line stderr must hold); rows are indexed from 0 in the file's lists.
DEFECTS: dict[str, tuple[Callable[[Doc], None], str]] = {
    "edited trade qty": (_set(BUY_ROW, "qty", "3"), "qty is 3 but its order_filled event says 2"),
    "edited cash": (_set(POSITION, "cash", "99999"), "cash is 99999 but its history gives"),
    "dropped trade": (_drop_trade, "but its history gives"),
    "NaN qty": (_set(BUY_ROW, "qty", "NaN"), ".qty: must be a finite decimal, not 'NaN'"),
    "negative price": (_set(BUY_ROW, "price", "-150"), ".price: must be greater than zero, not '-150'"),
    "bogus side": (_set(BUY_ROW, "side", "bogus"), ".side: must be one of buy, sell, not 'bogus'"),
    "forged opening cash": (_forge_cash, "opening_cash is 20000 but its position_created event says 10000"),
    "duplicate id": (_duplicate_trade, "appears twice"),
    "bad reference": (_set(BUY_ROW, "order_id", "ord_nope"), ".order_id: refers to 'ord_nope', which is not in orders"),
    "null": (_set(BUY_ROW, "price", None), ".price: must not be null"),
    "naive time": (_set(BUY_ROW, "executed_at", "2026-11-26T14:30:00"), "has no UTC offset; vb writes times with Z"),
    "number for text": (_set(BUY_ROW, "symbol", 7), ".symbol: must be text, not 7"),
    "missing field": (lambda doc: BUY_ROW(doc).pop("commission"), ".commission: is missing"),
}


@pytest.mark.parametrize("name", list(DEFECTS))
def test_each_defect_is_exit_7_naming_the_field_and_imports_nothing(exported: Doc, tmp_path: Path, name: str) -> None:
    edit, expected = DEFECTS[name]
    doc = copy.deepcopy(exported)
    edit(doc)
    result, cli, source = _import(doc, tmp_path)
    assert result.exit_code == 7, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert lines[-1].startswith(f"vb: {source} ") and lines[-1].endswith("; nothing was imported.")
    assert any(line.startswith(f"{source}: ") and expected in line for line in lines[:-1]), result.stderr
    assert result.stdout == ""
    assert json.loads(cli("positions", "list", "--format", "json").stdout) == []
    assert json.loads(cli("trades", "list", "--format", "json").stdout) == []


def test_deep_nesting_is_exit_7_not_a_recursion_error(tmp_path: Path) -> None:
    result, _cli, source = _import("[" * 100_000, tmp_path)
    assert result.exit_code == 7, result.stderr
    assert f"{source}: (document): nested too deeply to be a vb export" in result.stderr


def test_db_check_catches_a_forged_opening_cash_in_place(exported: Doc, tmp_path: Path) -> None:
    result, cli, _source = _import(exported, tmp_path)
    assert result.exit_code == 0
    with sqlite3.connect(tmp_path / "target.sqlite") as conn:
        # Cash 10000 + 500 deposit - (2·150 + 1) + (160 - 1) = 10358; both raised by 10000, so every sum agrees.
        conn.execute("UPDATE positions SET cash = '20358', opening_cash = '20000'")
        pos = conn.execute("SELECT id FROM positions").fetchone()[0]
    checked = cli("db", "check")
    assert checked.exit_code == 5
    assert checked.stdout == f"position {pos} (AAPL): opening_cash is 20000 but its position_created event says 10000\n"


def test_db_check_catches_an_edited_fill_and_deposit(exported: Doc, tmp_path: Path) -> None:
    result, cli, _source = _import(exported, tmp_path)
    assert result.exit_code == 0
    with sqlite3.connect(tmp_path / "target.sqlite") as conn:
        conn.execute("UPDATE trades SET commission = '0' WHERE side = 'buy'")
        conn.execute("UPDATE cash_flows SET amount = '600'")
    out = cli("db", "check").stdout
    assert "commission is 0 but its order_filled event says 1" in out
    assert "moved 600 but its event records a deposit of 500" in out


def test_a_forged_document_is_refused_on_postgresql_too(exported: Doc, tmp_path: Path, pg_url: str) -> None:
    doc = copy.deepcopy(exported)
    _forge_cash(doc)
    source = tmp_path / "forged.json"
    source.write_text(json.dumps(doc))
    cli = make_cli_runner(pg_url)
    result = cli("import", "all", str(source))
    assert result.exit_code == 7
    assert "opening_cash is 20000 but its position_created event says 10000" in result.stderr
    assert json.loads(cli("positions", "list", "--format", "json").stdout) == []
