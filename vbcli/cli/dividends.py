"""`vb dividends`: add, pay, list, process (SPEC §3, §5)."""

from __future__ import annotations

from typing import Annotated

import typer

from vbcli.cli.common import (
    DryRunOpt, FormatOpt, choices, complete_ids, JsonOpt, KeyOpt, OptionalPosArg, PosArg, decimal_opt, handle_errors, key_opt, output_format,
    choice, labels_for, read_labelled, show, write,
)
from vbcli.domain.numbers import parse_fraction
from vbcli.domain.timeparse import parse_date

app = typer.Typer(help="Dividends: announced → receivable on the ex-date → paid on the pay date.\n\nExample: vb dividends add AAPL --per-share 0.25 --ex-date 2026-11-10", no_args_is_help=True)

LIST_COLUMNS = ["id", "symbol", "per_share", "ex_date", "pay_date", "qty", "gross", "tax", "net", "status"]
STATUSES = ("announced", "receivable", "paid")
DividendArg = Annotated[str, typer.Argument(help="Dividend id (or at least 6 characters of it).", show_default=False,
                                            autocompletion=complete_ids("dividend"))]


@app.command("add")
@handle_errors
def add(
    pos: PosArg,
    per_share: Annotated[str, typer.Option("--per-share", help="Dividend per share.", show_default=False)],
    ex_date: Annotated[str, typer.Option("--ex-date", help="Ex-dividend date (2026-11-26 or today).", show_default=False)],
    pay_date: Annotated[str | None, typer.Option("--pay-date", help="Payment date (default: none; pay with `vb dividends pay`).", show_default=False)] = None,
    withholding: Annotated[str, typer.Option("--withholding", help="Tax withheld, e.g. 25% or 0.25.")] = "25%",
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Announce a dividend; `vb dividends process` applies its ex-date and payment when they come.

    Example: vb dividends add AAPL --per-share 0.25 --ex-date 2026-11-10 --pay-date 2026-11-14
    """
    from vbcli.services.ledger import dividends

    fmt = output_format(format, as_json)
    values = {
        "ref": pos,
        "per_share": decimal_opt(per_share, "--per-share", positive=True),
        "ex_date": parse_date(ex_date, what="--ex-date"),
        "pay_date": parse_date(pay_date, what="--pay-date") if pay_date is not None else None,
        "withholding": parse_fraction(withholding, what="--withholding"),
    }
    idem = key_opt(key)
    result = write("dividends.add", values, idem, dry_run, lambda s: dividends.add(s, key=idem, **values))
    show(result, fmt)


@app.command("pay")
@handle_errors
def pay(dividend: DividendArg, format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False) -> None:
    """Pay a dividend now: its net moves from the receivable to cash (an announced one gets its ex-date first).

    Paying a paid dividend changes nothing.

    Example: vb dividends pay div_01jd8x
    """
    from vbcli.services.ledger import dividends

    fmt = output_format(format, as_json)
    result = write("dividends.pay", {"dividend": dividend}, key_opt(key), dry_run, lambda s: dividends.pay(s, ref=dividend))
    show(result, fmt)


@app.command("list")
@handle_errors
def list_(
    pos: OptionalPosArg = None,
    status: Annotated[str | None, typer.Option("--status", help="announced, receivable or paid.", show_default=False,
                                                          autocompletion=choices(*STATUSES))] = None,
    format: FormatOpt = None, as_json: JsonOpt = False,
) -> None:
    """List dividends, latest ex-date first.

    Example: vb dividends list AAPL --status receivable
    """
    from vbcli.services.ledger import dividends

    fmt = output_format(format, as_json)
    status = choice(status, STATUSES, "--status") if status is not None else None
    rows, context = read_labelled(fmt, "dividends", lambda s: dividends.list_dividends(s, ref=pos, status=status))
    show(rows, fmt, title="dividends", table_columns=LIST_COLUMNS, context=context)


@app.command("process")
@handle_errors
def process(
    date: Annotated[str, typer.Option("--date", help="Apply what is due on or before this date.")] = "today",
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Apply every due ex-date and payment in one transaction and list what was done (for cron).

    Example: vb dividends process --date 2026-11-26
    """
    from vbcli.services.ledger import dividends

    fmt = output_format(format, as_json)
    as_of = parse_date(date, what="--date")
    # The request names the resolved date, so a keyed retry on another day is a conflict.
    result = write("dividends.process", {"as_of": as_of}, key_opt(key), dry_run, lambda s: dividends.process(s, as_of=as_of))
    show(result, fmt, title="dividends processed", table_columns=[*LIST_COLUMNS, "done"], context=labels_for(fmt, "dividends"))


def register(root: typer.Typer) -> None:
    """Add `vb dividends` to the root app."""
    root.add_typer(app, name="dividends")

