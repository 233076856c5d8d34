"""`vb serve` around the app: the token file, the missing extra, loopback, the value series."""

from __future__ import annotations

import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vbcli.errors import UsageError


def test_token_is_generated_once_into_the_data_directory_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vbcli.web.token import load_or_create, token_path

    monkeypatch.delenv("VB_TOKEN", raising=False)
    first, created = load_or_create()
    assert created and len(first) >= 32
    path = token_path()
    assert path.parent == tmp_path / "data"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create() == (first, False)


def test_vb_token_overrides_the_file_and_must_be_long(monkeypatch: pytest.MonkeyPatch) -> None:
    from vbcli.web.token import load_or_create, token_path

    monkeypatch.setenv("VB_TOKEN", "my-own-token-of-good-length")
    assert load_or_create() == ("my-own-token-of-good-length", False)
    assert not token_path().exists()
    monkeypatch.setenv("VB_TOKEN", "short")
    with pytest.raises(UsageError, match="at least 16"):
        load_or_create()


def test_serve_without_the_extra_is_exit_2_naming_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from vbcli.cli import app

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now raises ImportError
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert result.stderr.strip() == 'vb: vb serve needs the serve extra: pip install "vbcli[serve]"'


def test_loopback_addresses() -> None:
    from vbcli.cli.serve import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.2", "::", "example.org"))


def test_help_and_cli_import_load_no_web_library() -> None:
    code = ("import sys, vbcli.cli; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', 'uvicorn', 'starlette'}"
            " | {m for m in sys.modules if m.startswith('vbcli.web')}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_value_series_walks_back_from_the_present() -> None:
    from vbcli.web.history import value_series

    d = Decimal
    # Opened with 10 shares and 1000 cash; buy 5 at 100 (commission 1) → 15 shares, 499 cash;
    # sell 3 at 110 (commission 1, P&L ignored here) → 12 shares, 499 + 330 − 1 = 828 cash.
    newest_first = [
        {"id": "t2", "side": "sell", "qty": d(3), "price": d(110), "commission": d(1), "realized_pnl": d(29),
         "executed_at": "2026-01-02", "status": "executed"},
        {"id": "tv", "side": "buy", "qty": d(99), "price": d(1), "commission": d(0), "realized_pnl": d(0),
         "executed_at": "2026-01-01T12:00:00Z", "status": "voided"},
        {"id": "t1", "side": "buy", "qty": d(5), "price": d(100), "commission": d(1), "realized_pnl": d(0),
         "executed_at": "2026-01-01", "status": "executed"},
    ]
    points = value_series(d(12), d(828), d(0), newest_first)
    assert [p["trade_id"] for p in points] == ["t1", "t2"]  # oldest first, the voided fill left out
    # after t1: 15 × 100 + 499 = 1999; after t2: 12 × 110 + 828 = 2148
    assert [(p["qty"], p["cash"], p["value"]) for p in points] == [(d(15), d(499), d(1999)), (d(12), d(828), d(2148))]


def test_serve_warns_beyond_loopback_and_keeps_its_token_private(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvicorn")
    import uvicorn

    from vbcli.cli import app

    started: list[object] = []

    def run(self: uvicorn.Server) -> None:  # no socket is opened (the URL line is checked by the process tests)
        started.append(self.config.host)

    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.delenv("VB_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "l.sqlite"), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.stderr
    assert started == ["0.0.0.0"]
    assert "vb: warning: listening on 0.0.0.0: other machines can reach this ledger" in result.stderr
    assert stat.S_IMODE((tmp_path / "data" / "serve-token").stat().st_mode) == 0o600
    quiet = CliRunner().invoke(app, ["--db", str(tmp_path / "l.sqlite"), "serve"])
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr
