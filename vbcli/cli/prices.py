"""`vb prices`: add, import, list (SPEC §8.4)."""

from __future__ import annotations

from typing import Annotated

import typer

from vbcli.cli.common import (
    DryRunOpt, FormatOpt, JsonOpt, KeyOpt, LimitOpt, SinceOpt, UntilOpt, decimal_opt, handle_errors, key_opt, output_format,
    read, show, time_opt, write,
)
from vbcli.errors import UsageError

app = typer.Typer(
    help="Prices: exact prices per symbol and time, used wherever a command needs one and none is given.\n\n"
    "Example: vb prices import - < closes.csv   (or: fetch-quotes | vb prices import -)",
    no_args_is_help=True,
)

FIELDS = ["symbol", "time", "price", "source", "created_at"]
TABLE_COLUMNS = ["time", "symbol", "price", "source"]
ReplaceOpt = Annotated[bool, typer.Option("--replace", help="Store a different price over one already stored for the same symbol and time.")]


@app.command("add")
@handle_errors
def add(
    symbol: Annotated[str, typer.Argument(help="Ticker symbol, e.g. AAPL.", show_default=False)],
    price: Annotated[str, typer.Argument(help="The price.", show_default=False)],
    at: Annotated[str | None, typer.Option("--at", help="Time of the price (a date = its 00:00 UTC; default now).", show_default=False)] = None,
    replace: ReplaceOpt = False,
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Store one price; the same symbol, time and price again changes nothing.

    Example: vb prices add AAPL 152.30 --at 2026-11-27
    """
    from vbcli.services.ledger import prices

    fmt = output_format(format, as_json)
    values = {"symbol": symbol, "price": decimal_opt(price, "The price", positive=True), "at": time_opt(at, "--at"),
              "replace": replace}
    result = write("prices.add", values, key_opt(key), dry_run, lambda s: prices.add(s, **values))  # type: ignore[arg-type]
    show(result, fmt)


@app.command("import")
@handle_errors
def import_(
    file: Annotated[str, typer.Argument(help="CSV file, or - for stdin.", show_default=False)],
    symbol: Annotated[str | None, typer.Option("--symbol", help="The file is one symbol's date,price (or date,close) rows.", show_default=False)] = None,
    replace: ReplaceOpt = False,
    format: FormatOpt = None, as_json: JsonOpt = False, dry_run: DryRunOpt = False,
) -> None:
    """Import prices from CSV, all or nothing: symbol,date,price rows (time for date, close for price).

    Rows already stored with the same price are skipped; another price for a stored symbol
    and time is a conflict (exit 4) unless --replace. Bad rows are reported as FILE:LINE
    (exit 7) and nothing is imported.

    Example: vb prices import closes.csv --symbol AAPL
    """
    from vbcli.services.ledger import prices

    fmt = output_format(format, as_json)
    request = {"file": file, "symbol": symbol, "replace": replace}
    result = write("prices.import", request, None, dry_run,
                   lambda s: prices.import_file(s, path=file, symbol=symbol, replace=replace))
    show({**result, "dry_run": dry_run}, fmt)


@app.command("list")
@handle_errors
def list_(
    symbol: Annotated[str | None, typer.Argument(help="Only this symbol.", show_default=False)] = None,
    since: SinceOpt = None, until: UntilOpt = None, limit: LimitOpt = None,
    format: FormatOpt = None, as_json: JsonOpt = False,
) -> None:
    """List stored prices, newest first.

    Example: vb prices list AAPL --since 2026-01-01 --format csv
    """
    from vbcli.services.ledger import prices

    fmt = output_format(format, as_json)
    start, end = time_opt(since, "--since"), time_opt(until, "--until", end_of_day=True)
    if start is not None and end is not None and start > end:
        raise UsageError("--since is after --until; nothing can match.")
    rows = read(lambda s: prices.list_prices(s, symbol=symbol, since=start, until=end, limit=limit))
    show(rows, fmt, title="prices", table_columns=TABLE_COLUMNS, empty_columns=FIELDS)


def register(root: typer.Typer) -> None:
    """Add `vb prices` to the root app."""
    root.add_typer(app, name="prices")
