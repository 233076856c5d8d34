"""`vb db`: path, info, upgrade (and more upkeep)."""

from __future__ import annotations

from typing import Annotated

import typer

from vbcli import render as out
from vbcli.cli.common import FormatOpt, JsonOpt, State, handle_errors, output_format, read, show

app = typer.Typer(help="The ledger database: where it is, what it holds, upkeep.\n\nExample: vb db info", no_args_is_help=True)


@app.command("path")
@handle_errors
def path() -> None:
    """Print where the ledger is (never creates it).

    Example: vb db path
    """
    from vbcli.config import TYPED_PASSWORD_WARNING, resolve_location

    location = resolve_location(State.db)
    if location.typed_password:
        out.warning(TYPED_PASSWORD_WARNING)
    out.line(location.display)


@app.command("info")
@handle_errors
def info(format: FormatOpt = None, as_json: JsonOpt = False) -> None:
    """Where the ledger is and why (flag, env or default), engine, schema revision, counts, size.

    Example: vb db info --json
    """
    from vbcli.cli.common import open_ledger
    from vbcli.services.upkeep import maintenance

    fmt = output_format(format, as_json)
    ledger = open_ledger(access="read")
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
    from vbcli.cli.common import open_ledger
    from vbcli.store.tables import SCHEMA_REVISION

    ledger = open_ledger(create=True, upgrade=True)
    ledger.close()
    out.note(f"the ledger {ledger.location.display} is at schema revision {SCHEMA_REVISION}.")


@app.command("backup")
@handle_errors
def backup(
    dest: Annotated[str | None, typer.Argument(help="Backup file or directory (default: DATA_DIR/backups/vb-TIMESTAMP.sqlite).", show_default=False)] = None,
) -> None:
    """Copy a SQLite ledger consistently while other vb processes write (0600, never overwrites).

    PostgreSQL ledgers are refused (exit 4): use pg_dump, or `vb export all --format json`.

    Example: vb db backup /srv/backups/
    """
    from vbcli.config import resolve_location
    from vbcli.services.upkeep import backup as backups

    result = backups.backup(resolve_location(State.db), dest)
    out.line(result["path"])


@app.command("check")
@handle_errors
def check(format: FormatOpt = None, as_json: JsonOpt = False) -> None:
    """Check storage integrity and the ledger's invariants; print every problem (exit 5 if any).

    Positions equal their opening values plus fills and cash flows, orders their trades,
    every fill has its event, no negative cash or shares, and the audit hash chain is whole.

    Example: vb db check
    """
    from vbcli.errors import Refused
    from vbcli.services.upkeep import dbcheck

    fmt = output_format(format, as_json) if (format or as_json) else "lines"
    result = read(dbcheck.check)
    if fmt == "lines":
        checked = result["checked"]
        summary = f"ok: {checked['positions']} positions, {checked['fills']} fills, {checked['events']} events checked"
        out.check_lines(result["problems"], summary if result["ok"] else None)
    else:
        show(result, fmt)
    if not result["ok"]:
        raise Refused(f"The ledger check found {len(result['problems'])} problem(s).")
