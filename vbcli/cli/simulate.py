"""`vb simulate`: backtest the rule on a price history against buy-and-hold (SPEC §4)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vbcli import render as out
from vbcli.cli.common import FormatOpt, JsonOpt, decimal_opt, handle_errors, output_format, read, show
from vbcli.cli.policy_options import parse_settings, with_policy_options
from vbcli.domain.numbers import parse_fraction

if TYPE_CHECKING:
    from vbcli.services.ledger.backtest import Backtest

PROGRESS_FROM = 5000  # bars; shorter runs finish before a bar would be worth drawing
PROGRESS_EVERY = 500
COMPARED = ("final_value", "return", "max_drawdown", "volatility", "sharpe")
STRATEGY_ONLY = ("bars", "trades", "commission", "dividends", "excess_return")
TRADE_COLUMNS = ["date", "side", "qty", "price", "notional", "commission", "anchor_before", "qty_after", "cash_after", "reason"]


@handle_errors
@with_policy_options
def simulate_command(
    prices: Annotated[str, typer.Argument(help="CSV of date,price (or date,close) rows, oldest first; optional dividend column; - = stdin.", show_default=False)],
    cash: Annotated[str | None, typer.Option("--cash", help="Start with this capital: half in shares at the first price.", show_default=False)] = None,
    qty: Annotated[str | None, typer.Option("--qty", help="Start with these shares (with --anchor, default the first price).", show_default=False)] = None,
    anchor: Annotated[str | None, typer.Option("--anchor", help="Start anchor (default: the first price).", show_default=False)] = None,
    position: Annotated[str | None, typer.Option("--position", help="Start from this position's shares, cash, anchor and policy (read only).", show_default=False)] = None,
    withholding: Annotated[str, typer.Option("--withholding", help="Tax withheld from dividends in the file.")] = "25%",
    trades: Annotated[bool, typer.Option("--trades", help="Add the trade log (with --format csv: print only the trade log).")] = False,
    plot: Annotated[bool, typer.Option("--plot", help="Draw strategy and buy-and-hold value in the terminal.")] = False,
    mapping: Annotated[list[str] | None, typer.Option("--map", help="FIELD=COLUMN (date, price, dividend, split), e.g. --map price=Adj Close.", show_default=False)] = None,
    format: FormatOpt = None, as_json: JsonOpt = False,
    settings: dict[str, Any] | None = None,
) -> None:
    """Backtest the rule on daily prices: trades, value, return, drawdown, volatility, Sharpe vs buy-and-hold.

    Writes nothing. Each bar is evaluated with the same rule as `vb evaluate`; a proposed
    order fills at that bar's price with commission = notional × rate; the daily order cap
    does not apply.

    Example: vb simulate prices.csv --cash 10000 --trigger 4% --plot
    """
    from vbcli.services.ledger import backtest
    from vbcli.services.io.columns import parse_mapping
    from vbcli.services.io.prices import read_bars
    from vbcli.services.io.schemas import BARS

    fmt = output_format(format, as_json)
    options = {
        "cash": decimal_opt(cash, "--cash"),
        "qty": decimal_opt(qty, "--qty"),
        "anchor": decimal_opt(anchor, "--anchor", positive=True),
        "settings": parse_settings(settings or {}),
        "withholding": parse_fraction(withholding, what="--withholding"),
    }
    bars = read_bars(prices, parse_mapping(mapping or [], BARS))
    start = read(lambda s: backtest.position_start(s, ref=position)) if position is not None else None
    with out.progress("simulating", len(bars), wanted=len(bars) > PROGRESS_FROM) as advance:
        outcome = backtest.run(bars=bars, position=start, include_trades=trades, on_bar=_on_bar(advance, len(bars)), **options)
    _render(outcome, fmt, trades)
    if plot:
        _plot(outcome, sys.stdout if fmt in ("table", "plain") else sys.stderr)


def _on_bar(advance: Callable[[int], None] | None, total: int) -> Callable[[int], None] | None:
    """The backtest's per-bar hook: move the bar every PROGRESS_EVERY bars and at the last."""
    if advance is None:
        return None
    shown = [0]

    def on_bar(index: int) -> None:
        if (index + 1) % PROGRESS_EVERY == 0 or index + 1 == total:
            advance(index + 1 - shown[0])
            shown[0] = index + 1

    return on_bar


def summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary as metric / strategy / buy_and_hold rows, for table, plain and csv."""
    held = summary["buy_and_hold"]
    rows = [{"metric": "initial_value", "strategy": summary["initial_value"], "buy_and_hold": summary["initial_value"]}]
    rows += [{"metric": name, "strategy": summary[name], "buy_and_hold": held[name]} for name in COMPARED]
    rows += [{"metric": name, "strategy": summary[name], "buy_and_hold": None} for name in STRATEGY_ONLY]
    return rows


def _render(outcome: Backtest, fmt: str, trades: bool) -> None:
    summary = outcome.summary
    if fmt in ("json", "ndjson"):
        show(summary, fmt)
        return
    if fmt == "csv" and trades:
        show(summary["trade_log"], fmt, columns=TRADE_COLUMNS)
        return
    title = f"simulation {summary['first_date'].isoformat()} .. {summary['last_date'].isoformat()}: strategy vs buy-and-hold"
    show(summary_rows(summary), fmt, title=title, table_columns=["metric", "strategy", "buy_and_hold"])
    if trades:
        print()
        show(summary["trade_log"], fmt, title="trades", columns=TRADE_COLUMNS if summary["trade_log"] else None,
             table_columns=TRADE_COLUMNS)


def _plot(outcome: Backtest, out: Any) -> None:
    """Strategy and buy-and-hold value per bar, with ▲ buys and ▼ sells (floats: drawing only)."""
    import plotext

    figure = plotext.figure
    series = outcome.result.series
    step = max(1, len(series) // 1000)  # a terminal cannot show more points than this
    xs = list(range(0, len(series), step))
    if xs[-1] != len(series) - 1:
        xs.append(len(series) - 1)
    figure.clear()
    from vbcli.render.terminal import colour

    terminal = out.isatty()
    if not terminal:
        figure.plot_size(80, 25)  # a file or a pipe gets a chart that fits 80 columns
    lines = [("strategy", 1, "braille"), ("buy and hold", 2, "hd")]  # two glyph sets, told apart without colour
    for label, column, glyphs in lines:
        figure.draw(figure.signal(xs, [float(series[i][column]) for i in xs], marker=glyphs).lines().label(label))
    index = {day: i for i, (day, _, _) in enumerate(series)}
    for side, marker in (("buy", "up"), ("sell", "down")):
        marks = [index[_day(t["date"])] for t in outcome.result.trade_log if t["side"] == side]
        if marks:
            figure.draw(figure.signal(marks, [float(series[i][1]) for i in marks], marker=marker).label(side))
    first, last = series[0][0].isoformat(), series[-1][0].isoformat()
    figure.title(f"value: strategy vs buy and hold, {first} .. {last}")
    figure.label("bar")
    print(figure.build().string(colorless=not colour(out)), file=out)  # NO_COLOR and pipes: no escapes


def _day(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)


def register(app: typer.Typer) -> None:
    """Add `vb simulate` to the root app."""
    app.command("simulate")(simulate_command)
