"""`vb report`: is rebalancing beating holding? Performance per position and portfolio (SPEC §8.5)."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from typing import Annotated, Any

import typer

from vbcli.cli.common import FormatOpt, JsonOpt, OptionalPosArg, PortfolioOpt, handle_errors, output_format, read, show, time_opt
from vbcli.errors import UsageError

TABLE_COLUMNS = ["portfolio", "symbol", "start_value", "end_value", "pnl", "twr", "irr", "stock_return", "hold_value", "excess",
                 "trades", "max_drawdown"]
SinceDayOpt = Annotated[str | None, typer.Option("--since", help="First day of the period (it starts at 00:00 UTC; default: the opening).", show_default=False)]
UntilDayOpt = Annotated[str | None, typer.Option("--until", help="Last day of the period, inclusive (default: now).", show_default=False)]
PlotOpt = Annotated[bool, typer.Option("--plot", help="Draw value against hold value over time in the terminal.")]


def report_command(
    pos: OptionalPosArg = None,
    portfolio: PortfolioOpt = None,
    since: SinceDayOpt = None,
    until: UntilDayOpt = None,
    plot: PlotOpt = False,
    format: FormatOpt = None, as_json: JsonOpt = False,
) -> None:
    """Performance over a period: values, flows, P&L, TWR, IRR, the stock's return, hold value and excess.

    One row per position and a total row per portfolio (position_id empty). Values use the
    stored prices and fills (vb prices); external flows are the opening, deposits and
    withdrawals. hold_value is what the start holdings would be worth at the end with no
    trade, excess = end_value − hold_value: above zero, rebalancing beat holding.

    Example: vb report --since 2026-01-01 --plot
    """
    from vbcli.services.ledger import report

    fmt = output_format(format, as_json)
    if pos is not None and portfolio is not None:
        raise UsageError("Give a position or --portfolio, not both.")
    start = time_opt(since, "--since")
    end = time_opt(until, "--until", end_of_day=True)
    if end is not None:
        end += timedelta(microseconds=1)  # --until is inclusive: the period ends at 00:00 after it
    if start is not None and end is not None and start >= end:
        raise UsageError("--since is after --until; the period would be empty.")
    result = read(lambda s: report.report(s, ref=pos, portfolio=portfolio, since=start, until=end, curves=plot))
    show(result.rows, fmt, title="report", table_columns=TABLE_COLUMNS, empty_columns=report.FIELDS)
    if plot:
        _plot(result.curves, sys.stdout if fmt in ("table", "plain") else sys.stderr)


def _plot(curves: list[Any], out: Any) -> None:
    """Value and hold value of each row over time (floats: drawing only)."""
    import plotext

    # One position: its own curve (its total is the same); otherwise every row's.
    drawn = [c for c in (curves[:1] if len(curves) == 2 else curves) if c.value]
    figure = plotext.figure
    figure.clear()
    terminal = out.isatty()
    if not terminal:
        figure.plot_size(100, 25)
    first = min((c.value[0].at for c in drawn), default=None)
    for curve in drawn:
        for label, points in ((curve.label, curve.value), (f"{curve.label} hold", curve.hold)):
            xs, ys = _thin(points, first)
            if xs:
                figure.draw(figure.signal(xs, ys, marker="braille").lines().label(label))
    figure.title("value against hold value" + (f" from {first.date().isoformat()}" if first else ": nothing to draw"))
    figure.label("days")
    colorless = not terminal or "NO_COLOR" in os.environ
    print(figure.build().string(colorless=colorless), file=out)


def _thin(points: list[Any], first: Any) -> tuple[list[float], list[float]]:
    step = max(1, len(points) // 1000)  # a terminal cannot show more points than this
    chosen = points[::step] + ([points[-1]] if points and (len(points) - 1) % step else [])
    return [(p.at - first).total_seconds() / 86400 for p in chosen], [float(p.value) for p in chosen]


def register(app: typer.Typer) -> None:
    """Add `vb report` to the root app."""
    app.command("report")(handle_errors(report_command))
