"""`vb export …` and `vb import …`: files for scripts, cron, spreadsheets and other ledgers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from vbcli import render
from vbcli.cli.common import (
    DryRunOpt, OptionalPosArg, PortfolioOpt, SinceOpt, State, UntilOpt, handle_errors, output_format, read, show, side_arg,
    time_opt, write,
)
from vbcli.errors import UsageError

export_app = typer.Typer(help="Export trades, orders, events, positions, dividends or everything (csv, json, ndjson, ledger, beancount).\n\nExample: vb export trades --format csv --out trades.csv",
                         no_args_is_help=True)
import_app = typer.Typer(help="Import fills from a file, or a whole ledger from `vb export all`.\n\nExample: vb import trades fills.csv --dry-run", no_args_is_help=True)

ExportFormatOpt = Annotated[str, typer.Option("--format", "-f", help="csv, json, ndjson, ledger (hledger) or beancount.")]
OutOpt = Annotated[str | None, typer.Option("--out", "-o", help="Write to this file, replaced atomically (default or -: stdout).", show_default=False)]
SideOpt = Annotated[str | None, typer.Option("--side", help="buy or sell (trades, orders).", show_default=False)]
TypeOpt = Annotated[str | None, typer.Option("--type", help="Event type, e.g. order_filled (events).", show_default=False)]
StatusOpt = Annotated[str | None, typer.Option("--status", help="Only rows with this status (orders, positions: open/closed/all, dividends).", show_default=False)]
FileArg = Annotated[str, typer.Argument(help="The file to read, or - for stdin.", show_default=False)]
InputFormatOpt = Annotated[str | None, typer.Option("--format", "-f", help="csv, json or ndjson (default: by extension; csv for stdin).", show_default=False)]

# Which filters make sense for which kind; others are refused rather than silently ignored.
ALLOWED = {
    "trades": {"pos", "portfolio", "side", "since", "until"},
    "orders": {"pos", "portfolio", "side", "status", "since", "until"},
    "events": {"pos", "portfolio", "type", "since", "until"},
    "positions": {"pos", "portfolio", "status"},
    "dividends": {"pos", "portfolio", "status", "since", "until"},
    "all": set(),
}
EXAMPLES = {
    "trades": "vb export trades --since 2026-01-01 --format csv --out /srv/exports/trades.csv",
    "orders": "vb export orders AAPL --status filled --format ndjson",
    "events": "vb export events --type order_filled --since today --format ndjson",
    "positions": "vb export positions --status all --format json --out positions.json",
    "dividends": "vb export dividends --portfolio default --format csv",
    "all": "vb export all --format json --out ledger-backup.json",
}


def _export(kind: str, format: str, out: str | None, given: dict[str, Any]) -> None:
    from vbcli.config import resolve_location
    from vbcli.services.io import exporting

    chosen = format.strip().lower()
    if chosen not in exporting.FORMATS:
        raise UsageError(f"--format must be one of {', '.join(exporting.FORMATS)}, not {format[:20]!r}.")
    if kind == "all" and chosen not in ("json", "ledger", "beancount"):
        raise UsageError("vb export all writes json, ledger or beancount.")
    if kind not in ("all", "trades") and chosen in ("ledger", "beancount"):
        raise UsageError(f"A {chosen} journal holds trades, cash and dividends, not {kind}; "
                         f"use `vb export trades --format {chosen}` or `vb export all --format {chosen}`.")
    extra = sorted(name for name, value in given.items() if value is not None and name not in ALLOWED[kind])
    if extra and chosen not in ("ledger", "beancount"):
        raise UsageError(f"vb export {kind} does not take --{extra[0]}.")
    filters = exporting.Filters(
        ref=given.get("pos"), portfolio=given.get("portfolio"), side=side_arg(given["side"]) if given.get("side") else None,
        type=given.get("type"), status=given.get("status"), since=time_opt(given.get("since"), "--since"),
        until=time_opt(given.get("until"), "--until", end_of_day=True))
    with exporting.destination(out, resolve_location(State.db).path) as sink:
        read(lambda session: exporting.export(session, kind=kind, format=chosen, filters=filters, sink=sink))


def _make_export(kind: str) -> Callable[..., None]:
    @handle_errors
    def command(
        pos: OptionalPosArg = None, portfolio: PortfolioOpt = None, side: SideOpt = None, type: TypeOpt = None,
        status: StatusOpt = None, since: SinceOpt = None, until: UntilOpt = None,
        format: ExportFormatOpt = "csv", out: OutOpt = None,
    ) -> None:
        _export(kind, format, out, {"pos": pos, "portfolio": portfolio, "side": side, "type": type, "status": status,
                                    "since": since, "until": until})

    what = "every object of the ledger as one JSON document (or a journal)" if kind == "all" else f"{kind}, oldest first"
    command.__doc__ = f"Export {what}; a file given with --out is replaced atomically.\n\nExample: {EXAMPLES[kind]}\n"
    command.__name__ = f"export_{kind}"
    return command


for _kind in ALLOWED:
    export_app.command(_kind)(_make_export(_kind))


@import_app.command("trades")
@handle_errors
def import_trades(file: FileArg, format: InputFormatOpt = None, dry_run: DryRunOpt = False) -> None:
    """Record past fills from a file, all or nothing; rows with a key are idempotent.

    Columns, in any order: position (or position_id or symbol), side, qty, price, and
    optionally commission, executed_at and key.

    Example: vb import trades fills.csv
    """
    from vbcli.services.io import importing

    fmt = importing.input_format(file, format)
    source, text = importing.read_source(file)
    lines = text.count("\n")
    with render.progress("importing", lines, wanted=lines >= 5000) as progress:
        result = write("import.trades", {"file": source}, None, dry_run,
                       lambda s: importing.import_trades(s, source=source, text=text, format=fmt, progress=progress))
    show({**result, "dry_run": dry_run}, output_format(None, False))


@import_app.command("all")
@handle_errors
def import_all(file: FileArg, dry_run: DryRunOpt = False) -> None:
    """Load a `vb export all` JSON document into an empty ledger, reproducing it exactly.

    Example: vb --db postgresql://vb@db/ledger import all ledger-backup.json
    """
    from vbcli.services.upkeep import backup
    from vbcli.services.io import importing

    source, text = importing.read_source(file)
    result = write("import.all", {"file": source}, None, dry_run, lambda s: backup.import_all(s, source=source, text=text))
    show({**result, "dry_run": dry_run}, output_format(None, False))


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.add_typer(import_app, name="import")
