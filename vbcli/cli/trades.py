"""`vb trades`: add, list, show, void."""

from __future__ import annotations

from typing import Annotated

import typer

from vbcli.cli.common import (
    DryRunOpt, FormatOpt, complete_ids, JsonOpt, KeyOpt, LimitOpt, LotOpt, OptionalPosArg, PortfolioOpt, PosArg, SinceOpt, UntilOpt,
    decimal_opt, handle_errors, key_opt, lots_opt, output_format, read_labelled, show, side_arg, time_opt, window_opt, write,
)

app = typer.Typer(help="Trades: fills, recorded or executed from orders.\n\nExample: vb trades list AAPL --since 2026-01-01", no_args_is_help=True)

TradeArg = Annotated[str, typer.Argument(help="Trade id (or at least 6 characters of it).", show_default=False,
                                         autocompletion=complete_ids("trade"))]
FIELDS = ["id", "order_id", "position_id", "symbol", "side", "qty", "price", "commission", "executed_at",
          "notional", "realized_pnl", "anchor_before", "status", "key"]  # header of an empty listing (SPEC §5 order)
TABLE_COLUMNS = ["executed_at", "symbol", "side", "qty", "price", "commission", "realized_pnl", "status", "id"]


@app.command("add")
@handle_errors
def add(
    pos: PosArg,
    side: Annotated[str, typer.Argument(help="buy or sell.", show_default=False)],
    qty: Annotated[str, typer.Argument(help="Quantity of shares.", show_default=False)],
    price: Annotated[str, typer.Option("--price", help="Fill price.", show_default=False)],
    commission: Annotated[str | None, typer.Option("--commission", help="Commission paid (default: notional × the position's rate, to the cent).", show_default=False)] = None,
    at: Annotated[str | None, typer.Option("--at", help="Execution time (default now).", show_default=False)] = None,
    lot: LotOpt = None,
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Record a fill that already happened (its order and trade in one step; no guardrails). A sell may name its lots.

    Example: vb trades add AAPL sell 5 --price 151 --lot trd_01jd8x:5 --key broker-fill-9912
    """
    from vbcli.services.ledger import trades

    fmt = output_format(format, as_json)
    values = {"ref": pos, "side": side_arg(side), "qty": decimal_opt(qty, "The quantity", positive=True),
              "price": decimal_opt(price, "--price", positive=True), "commission": decimal_opt(commission, "--commission"),
              "at": time_opt(at, "--at"), "lots": lots_opt(lot)}
    request = {name: value for name, value in {**values, "at": at, "lots": lot}.items() if name != "lots" or lot}
    idem = key_opt(key)
    result = write("trades.add", request, idem, dry_run, lambda s: trades.add(s, key=idem, **values))
    show(result, fmt)


@app.command("list")
@handle_errors
def list_(
    pos: OptionalPosArg = None,
    order: Annotated[str | None, typer.Option("--order", help="Only the trades of this order.", show_default=False)] = None,
    portfolio: PortfolioOpt = None,
    side: Annotated[str | None, typer.Option("--side", help="buy or sell.", show_default=False)] = None,
    since: SinceOpt = None, until: UntilOpt = None, limit: LimitOpt = None,
    format: FormatOpt = None, as_json: JsonOpt = False,
) -> None:
    """List trades, newest first.

    Example: vb trades list AAPL --since 2026-01-01 --format csv
    """
    from vbcli.services.ledger import trades

    fmt = output_format(format, as_json)
    start, end = window_opt(since, until)
    filters = {"ref": pos, "order": order, "portfolio": portfolio, "side": side_arg(side) if side else None,
               "since": start, "until": end, "limit": limit}
    rows, context = read_labelled(fmt, "trades", lambda s: trades.list_trades(s, **filters))
    show(rows, fmt, title="trades", table_columns=TABLE_COLUMNS, empty_columns=FIELDS, context=context)


@app.command("show")
@handle_errors
def show_(trade: TradeArg, format: FormatOpt = None, as_json: JsonOpt = False) -> None:
    """Show one trade.

    Example: vb trades show trd_01jd8x
    """
    from vbcli.services.ledger import trades

    fmt = output_format(format, as_json)
    view, context = read_labelled(fmt, None, lambda s: trades.show(s, ref=trade))
    show(view, fmt, context=context)


@app.command("void")
@handle_errors
def void(
    trade: TradeArg,
    reason: Annotated[str, typer.Option("--reason", help="Why the trade is voided (kept in the audit trail).", show_default=False)],
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Void a trade: reverse its effects and keep it as `voided` (the anchor stays).

    Example: vb trades void trd_01jd8x --reason "duplicate broker fill"
    """
    from vbcli.services.ledger import trades

    fmt = output_format(format, as_json)
    result = write("trades.void", {"trade": trade, "reason": reason}, key_opt(key), dry_run,
                   lambda s: trades.void(s, ref=trade, reason=reason))
    show(result, fmt)
