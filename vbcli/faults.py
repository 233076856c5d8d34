"""Test-only fault hooks, inert in every normal run.

A hook fires only when two environment variables agree: `VB_FAULT` names the point and
`VB_FAULT_ARM=tests-only` arms it (the test suite's conftest sets the second; nobody sets it
by accident, so a stray `VB_FAULT` in a user's environment does nothing).

`VB_FAULT=NAME` kills the process with SIGKILL at that point (a crash: no cleanup, no
output). `VB_FAULT=sleep:NAME` instead writes `vb: fault: sleeping at NAME` to stderr and
sleeps VB_FAULT_SECONDS (default 60), so a test can send SIGINT or SIGTERM mid-transaction,
or change the ledger's file under the running command.
Points: after_trade_row, after_position_update, before_commit, after_commit, mid_export,
mid_migration.
"""

from __future__ import annotations

import os
import signal
import sys
import time

ARM_VARIABLE, ARM_VALUE = "VB_FAULT_ARM", "tests-only"


def point(name: str) -> None:
    """Crash or pause here when a test asked for it; otherwise do nothing."""
    wanted = os.environ.get("VB_FAULT")
    if not wanted or os.environ.get(ARM_VARIABLE) != ARM_VALUE:
        return
    if wanted == name:
        os.kill(os.getpid(), signal.SIGKILL)
    elif wanted == f"sleep:{name}":
        print(f"vb: fault: sleeping at {name}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("VB_FAULT_SECONDS", "60")))
