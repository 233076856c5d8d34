"""A test-only fault hook: `VB_FAULT=NAME` kills the process with SIGKILL at that point.

Inert unless the variable names the point. Points: after_trade_row, after_position_update,
before_commit, after_commit, mid_export, mid_migration.
"""

from __future__ import annotations

import os
import signal


def point(name: str) -> None:
    if os.environ.get("VB_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
