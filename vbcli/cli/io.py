"""`vb export …` and `vb import …`: files for scripts, cron, spreadsheets and other ledgers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vbcli import render
from vbcli.cli.common import (
    DryRunOpt, JsonOpt, OptionalPosArg, PortfolioOpt, SinceOpt, State, UntilOpt, choice, handle_errors, output_format, read, show,
    side_arg, window_opt, write,
)
from vbcli.errors import UsageError

if TYPE_CHECKING:
    from sqlmodel import Session

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
STATUSES = {"orders": ("open", "partially_filled", "filled", "cancelled"), "positions": ("open", "closed", "all"),
            "dividends": ("announced", "receivable", "paid")}
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

    chosen = choice(format, exporting.FORMATS, "--format")
    if kind == "all" and chosen not in ("json", "ledger", "beancount"):
        raise UsageError("vb export all writes json, ledger or beancount.")
    if kind not in ("all", "trades") and chosen in ("ledger", "beancount"):
        raise UsageError(f"A {chosen} journal holds trades, cash and dividends, not {kind}; "
                         f"use `vb export trades --format {chosen}` or `vb export all --format {chosen}`.")
    extra = sorted(name for name, value in given.items() if value is not None and name not in ALLOWED[kind])
    if extra and chosen not in ("ledger", "beancount"):
        raise UsageError(f"vb export {kind} does not take --{extra[0]}.")
    since, until = window_opt(given.get("since"), given.get("until"))
    status = given.get("status")
    if status is not None and kind in STATUSES:
        status = choice(status, STATUSES[kind], "--status")
    kind_type = given["type"].strip().lower() if given.get("type") else None
    filters = exporting.Filters(
        ref=given.get("pos"), portfolio=given.get("portfolio"), side=side_arg(given["side"]) if given.get("side") else None,
        type=kind_type, status=status, since=since, until=until)

    def work(session: Session) -> None:
        if kind_type:
            from vbcli.services.ledger.events import check_type

            check_type(session, kind_type)
        exporting.export(session, kind=kind, format=chosen, filters=filters, sink=sink)

    with exporting.destination(out, resolve_location(State.db).path) as sink:
        read(work)


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


MapOpt = Annotated[list[str] | None, typer.Option(
    "--map", help="FIELD=COLUMN: read FIELD from the column named COLUMN (repeatable), e.g. --map qty=Units.", show_default=False)]


@import_app.command("trades")
@handle_errors
def import_trades(file: FileArg, format: InputFormatOpt = None, mapping: MapOpt = None, dry_run: DryRunOpt = False,
                  as_json: JsonOpt = False) -> None:
    """Record past fills from a file, all or nothing; rows with a key are idempotent.

    Columns, in any order: position (or position_id or symbol), side, qty, price, and
    optionally commission, executed_at and key; broker names (Symbol, Action, Quantity,
    Trade Date, Fees, Trade ID, ...) are understood, --map names any other. --dry-run
    prints the trades it would write and writes nothing.

    Example: vb import trades fills.csv --dry-run
    """
    from vbcli.domain.timeparse import utcnow
    from vbcli.services.io import importing, preview, reader
    from vbcli.services.io.columns import parse_mapping
    from vbcli.services.io.schemas import TRADES

    fmt, shown = importing.input_format(file, format), output_format(None, as_json)
    columns = parse_mapping(mapping or [], TRADES)
    with reader.open_input(file) as given:
        unused = given.table(TRADES, format=fmt, mapping=columns).unused  # the header is checked before the transaction
        lines = given.count_lines()

        def work(session: Session) -> dict[str, Any]:
            started, table = utcnow(), given.table(TRADES, format=fmt, mapping=columns)
            result = importing.import_trades(session, source=given.source, rows=table.rows(), progress=progress)
            return {**result, "trades": preview.trades_recorded_since(session, started)} if dry_run else result

        with render.progress("importing", lines, wanted=lines >= 5000) as progress:
            result = write("import.trades", {"file": given.source}, None, dry_run, work)
    _not_read(given.source, unused)
    if dry_run:
        render.note(f"{result['imported']} of {result['rows']} rows would be imported ({result['skipped']} already there).")
        from vbcli.cli.trades import FIELDS, TABLE_COLUMNS

        show(result["trades"], shown, title="trades", table_columns=TABLE_COLUMNS, empty_columns=FIELDS)
        return
    show({**result, "dry_run": dry_run}, shown)


def _not_read(source: str, unused: list[str]) -> None:
    if unused:
        render.note(f"{source}: column{'s' if len(unused) > 1 else ''} not read: {', '.join(unused)} "
                    "(--map FIELD=COLUMN reads one).")


@import_app.command("all")
@handle_errors
def import_all(file: FileArg, dry_run: DryRunOpt = False, as_json: JsonOpt = False) -> None:
    """Load a `vb export all` JSON document into an empty ledger, reproducing it exactly.

    Example: vb --db postgresql://vb@db/ledger import all ledger-backup.json
    """
    from vbcli.services.io.reader import read_text
    from vbcli.services.io import restore

    source, text = read_text(file, what="a `vb export all` JSON document")
    result = write("import.all", {"file": source}, None, dry_run, lambda s: restore.import_all(s, source=source, text=text))
    show({**result, "dry_run": dry_run}, output_format(None, as_json))


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.add_typer(import_app, name="import")
