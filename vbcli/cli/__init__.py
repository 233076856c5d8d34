"""The `vb` command: a root app with one sub-app per noun (SPEC §5)."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

from vbcli import __version__
from vbcli.cli import common

app = typer.Typer(
    name="vb",
    help="vb: a ledger for volatility balancing. Positions of one stock plus cash; buy dips, sell rises.\n\n"
    "Example: vb positions add AAPL --qty 100 --cash 10000 --anchor 150",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"vb {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    db: Annotated[str | None, typer.Option("--db", help="Ledger: a SQLite file path or a sqlite:/// or postgresql:// URL (env SQL_URL).", show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """vb: a ledger for volatility balancing."""
    common.State.db = db


def _register() -> None:
    from vbcli.cli import db, events, orders, portfolios, positions, trades

    app.add_typer(portfolios.app, name="portfolios")
    app.add_typer(positions.app, name="positions")
    app.add_typer(orders.app, name="orders")
    app.add_typer(trades.app, name="trades")
    app.add_typer(events.app, name="events")
    app.add_typer(db.app, name="db")
    for optional in ("evaluate", "dividends", "simulate", "io", "completion"):
        try:
            module = __import__(f"vbcli.cli.{optional}", fromlist=["register"])
        except ModuleNotFoundError as error:
            if error.name != f"vbcli.cli.{optional}":
                raise
            continue
        module.register(app)


_register()


class Terminated(SystemExit):
    """SIGTERM, raised like Ctrl-C wherever Python is, so the open transaction rolls back."""


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app(prog_name="vb")
    except KeyboardInterrupt:
        print(f"vb: {common.interrupted_message()}", file=sys.stderr)
        sys.exit(130)
    except Terminated as stop:
        print(f"vb: {common.interrupted_message('Terminated')}", file=sys.stderr)
        sys.exit(stop.code)
