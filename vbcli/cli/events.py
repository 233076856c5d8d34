"""`vb events list`: the audit trail."""

from __future__ import annotations

from typing import Annotated

import typer

from vbcli.cli.common import FormatOpt, JsonOpt, LimitOpt, OptionalPosArg, SinceOpt, UntilOpt, handle_errors, output_format, read_labelled, show, window_opt

app = typer.Typer(help="The audit trail of every change.\n\nExample: vb events list AAPL --type order_filled", no_args_is_help=True)

FIELDS = ["id", "ts", "type", "position_id", "order_id", "trade_id", "message", "data"]  # header of an empty listing


@app.command("list")
@handle_errors
def list_(
    pos: OptionalPosArg = None,
    type: Annotated[str | None, typer.Option("--type", help="Only events of this type, e.g. order_filled.", show_default=False)] = None,
    since: SinceOpt = None, until: UntilOpt = None, limit: LimitOpt = None,
    format: FormatOpt = None, as_json: JsonOpt = False,
) -> None:
    """List events, newest first.

    Example: vb events list AAPL --type order_filled --since today
    """
    from vbcli.services.ledger import events

    fmt = output_format(format, as_json)
    start, end = window_opt(since, until)
    filters = {"ref": pos, "type": type.strip().lower() if type else None, "since": start, "until": end, "limit": limit}
    rows, context = read_labelled(fmt, None, lambda s: events.list_events(s, **filters))
    show(rows, fmt, title="events", table_columns=["ts", "type", "message", "position_id", "id"], empty_columns=FIELDS,
         context=context)
