"""`vb splits`: add, list (SPEC §8.2); `vb process`: every due split, ex-date and payment (§8.0)."""

from __future__ import annotations

from typing import Annotated

import typer

from vbcli.cli.common import (
    DryRunOpt, FormatOpt, JsonOpt, KeyOpt, OptionalPosArg, PosArg, handle_errors, key_opt, output_format, read, show, write,
)
from vbcli.domain.timeparse import parse_date

app = typer.Typer(help="Splits and reverse splits of a position's stock.\n\nExample: vb splits add AAPL 4:1 --date 2026-08-31", no_args_is_help=True)

LIST_FIELDS = ["id", "position_id", "symbol", "ratio", "date", "status", "key", "created_at"]
PROCESS_FIELDS = ["kind", "id", "position_id", "symbol", "date", "done"]


@app.command("add")
@handle_errors
def add(
    pos: PosArg,
    ratio: Annotated[str, typer.Argument(help="NEW:OLD, e.g. 4:1 (four shares for one) or 1:10 (a reverse split).", show_default=False)],
    date: Annotated[str, typer.Option("--date", help="The first day the stock trades split (2026-08-31 or today).", show_default=False)],
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Record a split: applied at the start of --date (now, when that has come; else by `vb process`).

    Example: vb splits add AAPL 4:1 --date 2026-08-31
    """
    from vbcli.services.ledger import splits

    fmt = output_format(format, as_json)
    new, old = splits.parse_ratio(ratio)
    on = parse_date(date, what="--date")
    request = {"ref": pos, "new": new, "old": old, "on": on}
    idem = key_opt(key)
    show(write("splits.add", request, idem, dry_run, lambda s: splits.add(s, key=idem, **request)), fmt)


@app.command("list")
@handle_errors
def list_(pos: OptionalPosArg = None, format: FormatOpt = None, as_json: JsonOpt = False) -> None:
    """List splits, latest date first.

    Example: vb splits list AAPL
    """
    from vbcli.services.ledger import splits

    fmt = output_format(format, as_json)
    rows = read(lambda s: splits.list_splits(s, ref=pos))
    show(rows, fmt, title="splits", table_columns=LIST_FIELDS, empty_columns=LIST_FIELDS)


def process(
    date: Annotated[str, typer.Option("--date", help="Apply what is due on or before this date.")] = "today",
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Apply every due split, dividend ex-date and payment in one transaction and list what was done (for cron).

    Example: vb process --key cron-2026-11-26
    """
    from vbcli.services.ledger import process as processing

    fmt = output_format(format, as_json)
    as_of = parse_date(date, what="--date")
    result = write("process", {"as_of": as_of}, key_opt(key), dry_run, lambda s: processing.process(s, as_of=as_of))
    show(result, fmt, title="processed", table_columns=PROCESS_FIELDS, empty_columns=PROCESS_FIELDS)


def register(root: typer.Typer) -> None:
    """Add `vb splits` and `vb process` to the root app."""
    root.add_typer(app, name="splits")
    root.command("process")(handle_errors(process))
