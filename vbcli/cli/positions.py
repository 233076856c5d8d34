"""`vb positions`: add, list, show, set, deposit, withdraw, close."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vbcli.cli.common import (
    DryRunOpt, FormatOpt, choices, JsonOpt, KeyOpt, PortfolioOpt, PosArg, decimal_opt, handle_errors, key_opt,
    choice, output_format, read_labelled, show, time_opt, write,
)
from vbcli.cli.policy_options import parse_settings, with_policy_options
from vbcli.domain.policy import GUARDRAIL_FIELDS, POLICY_FIELDS
from vbcli.errors import UsageError

app = typer.Typer(
    help="Positions: one stock plus its own cash, with an order policy and guardrails.\n\n"
    "Example: vb positions add AAPL --qty 100 --cash 10000 --anchor 150",
    no_args_is_help=True,
)

# The header of an empty listing (plain, csv): the flattened fields of a position.
FIELDS = ["id", "portfolio", "symbol", "status", "qty", "cash", "anchor", "avg_cost", "dividend_receivable", "realized_pnl",
          "total_commission", "total_dividends", *POLICY_FIELDS, *GUARDRAIL_FIELDS, "created_at", "updated_at",
          "price", "price_at", "price_source", "stock_value", "total_value", "stock_alloc", "unrealized_pnl"]
LIST_COLUMNS = ["portfolio", "symbol", "qty", "cash", "anchor", "avg_cost", "realized_pnl", "price", "price_at", "total_value",
                "status", "id"]
AtOpt = Annotated[str | None, typer.Option("--at", help="When it happened (default now): a date, RFC 3339 time or now.", show_default=False)]
AmountArg = Annotated[str, typer.Argument(help="Amount of cash.", show_default=False)]


@app.command("add")
@handle_errors
@with_policy_options
def add(
    symbol: Annotated[str, typer.Argument(help="Ticker symbol, e.g. AAPL.", show_default=False)],
    qty: Annotated[str, typer.Option("--qty", help="Shares held at the start.")] = "0",
    cash: Annotated[str, typer.Option("--cash", help="Cash of the position at the start.")] = "0",
    anchor: Annotated[str | None, typer.Option("--anchor", help="Anchor price (the last fill).", show_default=False)] = None,
    avg_cost: Annotated[str | None, typer.Option("--avg-cost", help="Cost per share of the opening shares (default: the anchor).", show_default=False)] = None,
    portfolio: PortfolioOpt = None,
    at: AtOpt = None,
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
    settings: dict[str, Any] | None = None,
) -> None:
    """Open a position (at --at, default now: fills before it are refused).

    Example: vb positions add AAPL --qty 100 --cash 10000 --anchor 150 --trigger 4%
    """
    from vbcli.services.ledger import positions

    fmt = output_format(format, as_json)
    parsed = parse_settings(settings or {})
    values = {
        "symbol": symbol,
        "qty": decimal_opt(qty, "--qty"),
        "cash": decimal_opt(cash, "--cash"),
        "anchor": decimal_opt(anchor, "--anchor", positive=True),
        "avg_cost": decimal_opt(avg_cost, "--avg-cost", positive=True),
        "portfolio": portfolio,
    }
    when = time_opt(at, "--at")
    result = write("positions.add", {**values, "settings": parsed, **({"at": at} if at is not None else {})}, key_opt(key), dry_run,
                   lambda s: positions.add(s, settings=parsed, at=when, **values))
    show(result, fmt)


@app.command("list")
@handle_errors
def list_(
    portfolio: PortfolioOpt = None,
    status: Annotated[str, typer.Option("--status", help="open, closed or all.", autocompletion=choices("open", "closed", "all"))] = "open",
    format: FormatOpt = None, as_json: JsonOpt = False,
) -> None:
    """List positions, each valued at the latest stored price or fill of its symbol (price_at).

    Example: vb positions list --status all --format csv
    """
    from vbcli.services.ledger import positions

    fmt = output_format(format, as_json)
    status = choice(status, ("open", "closed", "all"), "--status")
    rows, context = read_labelled(fmt, "positions", lambda s: positions.list_all(s, portfolio=portfolio, status=status))
    show(rows, fmt, title="positions", table_columns=LIST_COLUMNS, empty_columns=FIELDS, context=context)


@app.command("show")
@handle_errors
def show_(
    pos: PosArg,
    price: Annotated[str | None, typer.Option("--price", help="Value the position at this price.", show_default=False)] = None,
    format: FormatOpt = None, as_json: JsonOpt = False,
) -> None:
    """Show a position with its value, allocation, unrealized P&L and next trigger prices.

    Without --price it is valued at the latest stored price or fill of its symbol, whose
    time is `price_at` (no valuation when the symbol has none).

    Example: vb positions show AAPL --price 152.3
    """
    from vbcli.services.ledger import positions

    fmt = output_format(format, as_json)
    at = decimal_opt(price, "--price", positive=True)
    view, context = read_labelled(fmt, None, lambda s: positions.show(s, ref=pos, price=at))
    show(view, fmt, context=context)


@app.command("set")
@handle_errors
@with_policy_options
def set_(
    pos: PosArg,
    anchor: Annotated[str | None, typer.Option("--anchor", help="New anchor price.", show_default=False)] = None,
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
    settings: dict[str, Any] | None = None,
) -> None:
    """Change a position's anchor, order policy or guardrails (the event keeps old and new).

    Example: vb positions set AAPL --trigger-up 5% --max-alloc 70%
    """
    from vbcli.services.ledger import positions

    fmt = output_format(format, as_json)
    parsed = parse_settings(settings or {})
    new_anchor = decimal_opt(anchor, "--anchor", positive=True)
    if not parsed and new_anchor is None:
        raise UsageError("Nothing to change: give --anchor or a policy option (see vb positions set --help).")
    request = {"pos": pos, "anchor": new_anchor, "settings": parsed}
    result = write("positions.set", request, key_opt(key), dry_run,
                   lambda s: positions.update(s, ref=pos, anchor=new_anchor, settings=parsed))
    show(result, fmt)


def _cash_command(deposit: bool) -> Any:
    verb = "deposit" if deposit else "withdraw"

    @handle_errors
    def command(pos: PosArg, amount: AmountArg, at: AtOpt = None, format: FormatOpt = None, as_json: JsonOpt = False,
                key: KeyOpt = None, dry_run: DryRunOpt = False) -> None:
        from vbcli.services.ledger import positions

        fmt = output_format(format, as_json)
        value = decimal_opt(amount, "The amount", positive=True)
        when = time_opt(at, "--at")
        request = {"pos": pos, "amount": value, **({"at": at} if at is not None else {})}
        result = write(f"positions.{verb}", request, key_opt(key), dry_run,
                       lambda s: positions.move_cash(s, ref=pos, amount=value, deposit=deposit, at=when))  # type: ignore[arg-type]
        show(result, fmt)

    command.__doc__ = (
        f"{'Add cash to' if deposit else 'Take cash out of'} a position, now or --at an earlier time.\n\n    Example: vb positions {verb} AAPL 2500"
    )
    return command


app.command("deposit")(_cash_command(True))
app.command("withdraw")(_cash_command(False))


@app.command("close")
@handle_errors
def close(pos: PosArg, format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False) -> None:
    """Close a position; its history stays.

    Example: vb positions close retirement/AAPL
    """
    from vbcli.services.ledger import positions

    fmt = output_format(format, as_json)
    result = write("positions.close", {"pos": pos}, key_opt(key), dry_run, lambda s: positions.close(s, ref=pos))
    show(result, fmt)
