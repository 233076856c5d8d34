"""Before the command server forks its first worker: run everyday commands once against a
scratch ledger, so that the SQL they compile is in the shared cache every worker inherits
(vbcli/store/engine.py, _share_compiled_sql). A worker's `vb trades add` then executes SQL
instead of compiling it, about half of its time.

Nothing of the run stays but caches: the scratch ledger lives in its own temporary
directory, the environment seen by the commands is a minimal one (never the user's SQL_URL
or VB_* settings, so no user ledger is touched), and everything the commands change in the
process (environment, argv, working directory, signal handlers, standard streams, warning
filters, the id sequence, the count of commits, the root's --db) is put back. A failing
warm-up only means slower workers.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import tempfile
import warnings
from collections.abc import Iterator

WARM_UP_SYMBOL = "WARM"
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("positions", "add", WARM_UP_SYMBOL, "--qty", "100", "--cash", "10000", "--anchor", "100", "--at", "2020-01-01"),
    ("portfolios", "list"),
    ("trades", "add", WARM_UP_SYMBOL, "buy", "1", "--price", "95", "--commission", "0", "--key", "warm-up"),
    ("trades", "add", WARM_UP_SYMBOL, "sell", "1", "--price", "105"),
    ("trades", "add", WARM_UP_SYMBOL, "buy", "2", "--price", "99", "--at", "2020-01-02"),
    ("orders", "place", WARM_UP_SYMBOL, "buy", "1", "--limit", "90"),
    ("orders", "list", WARM_UP_SYMBOL),
    ("dividends", "add", WARM_UP_SYMBOL, "--per-share", "0.5", "--ex-date", "2020-03-02", "--pay-date", "2020-03-20"),
    ("evaluate", WARM_UP_SYMBOL, "--price", "90"),
    ("positions", "list"),
    ("positions", "show", WARM_UP_SYMBOL),
    ("trades", "list", WARM_UP_SYMBOL, "--limit", "20"),
    ("trades", "list"),
    ("events", "list", "--limit", "20"),
    ("lots", "list", WARM_UP_SYMBOL),
    ("gains",),
    ("report",),
)


def warm_up() -> int:
    """Run COMMANDS in this process against a scratch ledger; how many exited 0."""
    from vbcli.cli import common
    from vbcli.domain import ids
    from vbcli.entry import run_in_process
    from vbcli.store import transaction

    succeeded = 0
    try:
        with tempfile.TemporaryDirectory(prefix="vb-warm-up-", ignore_cleanup_errors=True) as scratch, \
                _restored_process(scratch):
            ledger = os.path.join(scratch, "ledger.sqlite")
            for command in COMMANDS:
                sys.argv = ["vb", "--db", ledger, *command]
                try:
                    run_in_process()
                    succeeded += 1
                except SystemExit as stop:
                    succeeded += stop.code in (None, 0)
                except Exception:  # noqa: BLE001 - a command that fails here fails in its worker, not in the server
                    pass
    except OSError:  # no scratch directory to be had: the workers compile as they go
        pass
    # The process-wide facts a worker reads of its own process start afresh: its id sequence,
    # and whether it has committed anything (the interrupt message says which), the root's options.
    ids.forget_last()
    transaction.committed_writes = 0
    common.State.db = None
    return succeeded


@contextlib.contextmanager
def _restored_process(scratch: str) -> Iterator[None]:
    saved_env, saved_argv, saved_cwd = dict(os.environ), sys.argv, os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    os.environ.clear()
    os.environ.update({"PATH": saved_env.get("PATH", os.defpath), "HOME": scratch, "VB_DATA_DIR": scratch,
                       "VB_SERVER": "off", "VB_FORMAT": "plain", "COLUMNS": "80"})
    os.chdir(scratch)
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(), io.StringIO(), io.StringIO()
    try:
        with warnings.catch_warnings():
            yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for signum, handler in saved_handlers.items():
            signal.signal(signum, handler)
