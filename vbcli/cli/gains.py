"""`vb lots list` (open lots) and `vb gains` (realized gains per sell and lot), SPEC §8.3."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from vbcli.cli.common import (
    FormatOpt, JsonOpt, OptionalPosArg, PortfolioOpt, PosArg, SinceOpt, UntilOpt, decimal_opt, handle_errors, output_format,
    read_labelled, show, time_opt, window_opt,
)
from vbcli.errors import UsageError

app = typer.Typer(help="Lots: the open lots of a position and what each cost.\n\nExample: vb lots list AAPL --price 151",
                  no_args_is_help=True)

YearOpt = Annotated[int | None, typer.Option("--year", min=1900, max=9999, help="Only sales in this calendar year (UTC).",
                                             show_default=False)]


@app.command("list")
@handle_errors
def list_(
    pos: PosArg,
    at: Annotated[str | None, typer.Option("--at", help="The lots open at this time (a date: its end; default now).",
                                           show_default=False)] = None,
    price: Annotated[str | None, typer.Option("--price", help="Value the lots at this price (default: the latest stored "
                                              "price or fill at --at).", show_default=False)] = None,
    format: FormatOpt = None, as_json: JsonOpt = False,
) -> None:
    """List a position's open lots: acquired when, how many, at what cost, and the unrealized P&L at a price.

    Example: vb lots list AAPL --at 2026-06-30 --price 151
    """
    from vbcli.services.ledger import gains

    fmt = output_format(format, as_json)
    values = {"ref": pos, "at": time_opt(at, "--at", end_of_day=True), "price": decimal_opt(price, "--price", positive=True)}
    rows, context = read_labelled(fmt, "trades", lambda s: gains.open_lots(s, **values))
    show(rows, fmt, title="lots", empty_columns=gains.LOT_FIELDS, context=context)


def gains_command(
    pos: OptionalPosArg = None,
    portfolio: PortfolioOpt = None,
    year: YearOpt = None,
    since: SinceOpt = None, until: UntilOpt = None,
    format: FormatOpt = None, as_json: JsonOpt = False,
) -> None:
    """Realized gains: one row per sell and lot it closed (proceeds, cost, gain, short or long term), then totals.

    A sale more than one year after the lot was acquired (one year and one day) is `long`.
    Total rows have no trade ids; their term is short, long or total (per currency).

    Example: vb gains --year 2026 --format csv
    """
    from vbcli.services.ledger import gains

    fmt = output_format(format, as_json)
    if pos is not None and portfolio is not None:
        raise UsageError("Give a position or --portfolio, not both.")
    if year is not None and (since is not None or until is not None):
        raise UsageError("Give --year or --since/--until, not both.")
    start, end = window_opt(since, until)
    if year is not None:
        start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    filters = {"ref": pos, "portfolio": portfolio, "since": start, "until": end}
    rows, context = read_labelled(fmt, "trades", lambda s: gains.gains(s, **filters))
    show(rows, fmt, title="gains", empty_columns=gains.GAIN_FIELDS, context=context)


def register(root: typer.Typer) -> None:
    """Add `vb lots` and `vb gains` to the root app."""
    root.add_typer(app, name="lots")
    root.command("gains")(handle_errors(gains_command))
