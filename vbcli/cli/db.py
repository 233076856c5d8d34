"""`vb db`: path, info, upgrade (and more upkeep)."""

from __future__ import annotations

import typer

from vbcli.cli.common import FormatOpt, JsonOpt, State, handle_errors, output_format, show

app = typer.Typer(help="The ledger database: where it is, what it holds, upkeep.", no_args_is_help=True)


@app.command("path")
@handle_errors
def path() -> None:
    """Print where the ledger is (never creates it).

    Example: vb db path
    """
    from vbcli.config import resolve_location

    print(resolve_location(State.db).display)


@app.command("info")
@handle_errors
def info(format: FormatOpt = None, as_json: JsonOpt = False) -> None:
    """Where the ledger is and why (flag, env or default), engine, schema revision, counts, size.

    Example: vb db info --json
    """
    from vbcli.cli.common import open_ledger
    from vbcli.services import maintenance

    fmt = output_format(format, as_json)
    ledger = open_ledger()
    try:
        with ledger.read() as session:
            result = maintenance.info(session, ledger.location)
    finally:
        ledger.close()
    show(result, fmt)


@app.command("upgrade")
@handle_errors
def upgrade() -> None:
    """Create the schema or apply pending migrations (keeps every row; SQLite ledgers are backed up first).

    Example: APP_AUTO_CREATE=false vb db upgrade
    """
    from vbcli.config import resolve_location
    from vbcli.store.ledger import open_ledger
    from vbcli.store.tables import SCHEMA_REVISION

    ledger = open_ledger(resolve_location(State.db), create=True, upgrade=True)
    ledger.close()
    print(f"vb: the ledger {ledger.location.display} is at schema revision {SCHEMA_REVISION}.", file=__import__("sys").stderr)
