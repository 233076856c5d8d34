"""`vb orders`: place, list, show, cancel, fill."""

from __future__ import annotations

from typing import Annotated

import typer

from vbcli.cli.common import (
    DryRunOpt, FormatOpt, choices, complete_ids, JsonOpt, KeyOpt, LimitOpt, LotOpt, OptionalPosArg, PosArg, decimal_opt, handle_errors,
    key_opt, choice, lots_opt, output_format, read_labelled, show, side_arg, time_opt, write,
)

app = typer.Typer(help="Orders: place, fill (partially or fully), cancel.\n\nExample: vb orders place AAPL buy 11", no_args_is_help=True)

OrderArg = Annotated[str, typer.Argument(help="Order id (or at least 6 characters of it).", show_default=False,
                                         autocompletion=complete_ids("order"))]
SideArg = Annotated[str, typer.Argument(help="buy or sell.", show_default=False)]
QtyArg = Annotated[str, typer.Argument(help="Quantity of shares.", show_default=False)]
FIELDS = ["id", "position_id", "symbol", "side", "qty", "limit", "status", "filled_qty", "avg_fill_price",
          "commission_rate", "key", "note", "created_at", "updated_at"]  # header of an empty listing
LIST_COLUMNS = ["id", "symbol", "side", "qty", "limit", "status", "filled_qty", "avg_fill_price", "created_at"]
STATUSES = ("open", "partially_filled", "filled", "cancelled")


@app.command("place")
@handle_errors
def place(
    pos: PosArg, side: SideArg, qty: QtyArg,
    limit: Annotated[str | None, typer.Option("--limit", help="Limit price.", show_default=False)] = None,
    note: Annotated[str, typer.Option("--note", help="Free text kept with the order.")] = "",
    force: Annotated[bool, typer.Option("--force", help="Place even past the daily cap or guardrails (logged).")] = False,
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Place an order; the daily cap and guardrails apply (at the limit price, else the anchor).

    Example: vb orders place AAPL buy 11 --key 2026-11-26-aapl
    """
    from vbcli.services.ledger import orders

    fmt = output_format(format, as_json)
    values = {"ref": pos, "side": side_arg(side), "qty": decimal_opt(qty, "The quantity", positive=True),
              "limit": decimal_opt(limit, "--limit", positive=True), "note": note, "force": force}
    idem = key_opt(key)
    result = write("orders.place", values, idem, dry_run, lambda s: orders.place(s, key=idem, **values))
    show(result, fmt)


@app.command("list")
@handle_errors
def list_(
    pos: OptionalPosArg = None,
    status: Annotated[str | None, typer.Option("--status", help="open, partially_filled, filled or cancelled.", show_default=False,
                                                          autocompletion=choices(*STATUSES))] = None,
    limit: LimitOpt = None,
    format: FormatOpt = None, as_json: JsonOpt = False,
) -> None:
    """List orders, newest first.

    Example: vb orders list AAPL --status open
    """
    from vbcli.services.ledger import orders

    fmt = output_format(format, as_json)
    status = choice(status, STATUSES, "--status") if status is not None else None
    rows, context = read_labelled(fmt, "orders", lambda s: orders.list_orders(s, ref=pos, status=status, limit=limit))
    show(rows, fmt, title="orders", table_columns=LIST_COLUMNS, empty_columns=FIELDS, context=context)


@app.command("show")
@handle_errors
def show_(order: OrderArg, format: FormatOpt = None, as_json: JsonOpt = False) -> None:
    """Show one order.

    Example: vb orders show ord_01jd8x
    """
    from vbcli.services.ledger import orders

    fmt = output_format(format, as_json)
    view, context = read_labelled(fmt, None, lambda s: orders.show(s, ref=order))
    show(view, fmt, context=context)


@app.command("cancel")
@handle_errors
def cancel(order: OrderArg, format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False) -> None:
    """Cancel an open or partially filled order.

    Example: vb orders cancel ord_01jd8x
    """
    from vbcli.services.ledger import orders

    fmt = output_format(format, as_json)
    result = write("orders.cancel", {"order": order}, key_opt(key), dry_run, lambda s: orders.cancel(s, ref=order))
    show(result, fmt)


@app.command("fill")
@handle_errors
def fill(
    order: OrderArg,
    price: Annotated[str, typer.Option("--price", help="Fill price.", show_default=False)],
    qty: Annotated[str | None, typer.Option("--qty", help="Quantity filled (default: all that remains).", show_default=False)] = None,
    commission: Annotated[str | None, typer.Option("--commission", help="Commission paid (default: notional × the order's rate, to the cent).", show_default=False)] = None,
    at: Annotated[str | None, typer.Option("--at", help="Execution time (default now).", show_default=False)] = None,
    lot: LotOpt = None,
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Execute an order (partial fills allowed); prints the trade. A sell may name its lots with --lot.

    Example: vb orders fill ord_01jd8x --price 145.18 --commission 1
    """
    from vbcli.services.ledger import trades

    fmt = output_format(format, as_json)
    values = {"ref": order, "price": decimal_opt(price, "--price", positive=True),
              "qty": decimal_opt(qty, "--qty", positive=True), "commission": decimal_opt(commission, "--commission"),
              "at": time_opt(at, "--at"), "lots": lots_opt(lot)}
    request = {name: value for name, value in {**values, "at": at, "lots": lot}.items() if name != "lots" or lot}
    idem = key_opt(key)
    result = write("orders.fill", request, idem, dry_run, lambda s: trades.fill(s, key=idem, **values))
    show(result, fmt)
