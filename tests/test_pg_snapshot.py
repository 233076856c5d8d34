"""PostgreSQL readers see one instant (issue 18): `db check` and `export all` while 8 writers
run find no false problem, and the export restores into a fresh schema and compares equal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CLEAN_ENV, drop_pg_schema, make_cli_runner, new_pg_schema

WRITER = """
import sys
from typer.testing import CliRunner
from vbcli.cli import app
runner, url, n = CliRunner(), sys.argv[1], int(sys.argv[2])
for i in range(n):
    side = "buy" if i % 3 else "sell"
    args = ["--db", url, "trades", "add", "AAPL", side, "1", "--price", str(100 + i % 7), "--commission", "1"]
    if i % 5 == 0:
        args = ["--db", url, "positions", "deposit", "AAPL", "10"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
"""


@pytest.mark.slow
def test_db_check_and_export_all_under_8_writers(pg_url: str, tmp_path: Path) -> None:
    cli = make_cli_runner(pg_url)
    assert cli("positions", "add", "AAPL", "--qty", "1000", "--cash", "1000000", "--anchor", "100").exit_code == 0
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, pg_url, "25"], env=env, stderr=subprocess.PIPE, text=True)
               for _ in range(8)]
    exports: list[Path] = []
    try:
        while any(w.poll() is None for w in writers) or len(exports) < 2:
            checked = cli("db", "check")
            assert checked.exit_code == 0, checked.stdout + checked.stderr  # no false alarm mid-write
            out = tmp_path / f"all-{len(exports)}.json"
            assert cli("export", "all", "--format", "json", "--out", str(out)).exit_code == 0
            exports.append(out)
    finally:
        for writer in writers:
            _out, err = writer.communicate(timeout=600)
            assert writer.returncode == 0, err
    for export in exports:  # each document agrees with itself: its head matches its events
        doc = json.loads(export.read_text())
        assert doc["ledger_head"]["event_count"] == len(doc["events"])
    # A document written mid-run restores into a fresh schema exactly.
    name, fresh = new_pg_schema()
    try:
        restore = make_cli_runner(fresh)
        middle = exports[len(exports) // 2]
        restored = restore("import", "all", str(middle))
        assert restored.exit_code == 0, restored.stderr
        assert restore("db", "check").exit_code == 0
        again = tmp_path / "again.json"
        assert restore("export", "all", "--format", "json", "--out", str(again)).exit_code == 0
        assert json.loads(again.read_text()) == json.loads(middle.read_text())
    finally:
        drop_pg_schema(name)
    # After the writers: 8 × 25 commands, one in five a deposit: 8 × 20 fills.
    final = cli("db", "check")
    assert final.exit_code == 0 and "160 fills" in final.stdout
