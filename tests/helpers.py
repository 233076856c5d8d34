"""Assertion helpers shared by the CLI tests (import as `from helpers import ...`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

NOBODY = 65534


def ok(result: Any) -> Any:
    """A command that succeeded (exit 0), else fail with its stderr."""
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.stderr}"
    return result


def js(result: Any) -> Any:
    """The JSON on stdout of a command that succeeded."""
    return json.loads(ok(result).stdout)


def json_out(vb: Any, *args: str, input: str | None = None) -> Any:
    """Run `vb ARGS --json` (stdin `input`), require exit 0, return the parsed stdout."""
    done = vb(*args, "--json", input=input) if input is not None else vb(*args, "--json")
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


def refused(result: Any, code: int, *, contains: str = "") -> str:
    """A clean failure: the code, nothing on stdout, one `vb: …` line on stderr."""
    assert result.exit_code == code, f"exit {result.exit_code}, wanted {code}: {result.stderr}"
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vb: "), result.stderr
    assert contains in lines[0]
    return lines[0]


def snapshot(vb: Any) -> Any:
    """What the ledger holds: row counts and every position and order."""
    info = js(vb("db", "info", "--json"))
    counts = {k: info[k] for k in ("portfolios", "positions", "orders", "trades", "events", "dividends")}
    return counts, js(vb("positions", "list", "--status", "all", "--json")), js(vb("orders", "list", "--json"))


def unprivileged_prefix() -> tuple[str, ...]:
    """A command prefix that runs as nobody (root ignores file modes and socket owners); skips where impossible."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv is missing: cannot run as another user")
    prefix = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--")
    if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root and cannot drop privileges with setpriv")
    return prefix
