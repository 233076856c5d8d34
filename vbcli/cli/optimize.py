"""`vb optimize`: backtest every combination of a policy grid and rank them (SPEC §8.6)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import typer

from vbcli import render as out
from vbcli.cli.common import FormatOpt, JsonOpt, decimal_opt, handle_errors, output_format, read, show
from vbcli.cli.policy_options import OPTION_NAMES, parse_settings, with_policy_options
from vbcli.domain import grid
from vbcli.domain.numbers import parse_fraction, round_ratio
from vbcli.domain.timeparse import parse_date
from vbcli.errors import UsageError, VbError

# The daily order cap does not apply in a backtest, so it has nothing to optimise.
GRID_NAMES = tuple(name.replace("_", "-") for name in OPTION_NAMES if name != "max_orders_per_day")
TABLE_METRICS = ("return", "excess_return", "max_drawdown", "sharpe")
FIELDS = ("bars", "trades", "final_value", "return", "max_drawdown", "volatility", "sharpe", "commission",
          "dividends", "excess_return", "calmar", "sortino")
HELD = ("final_value", "return", "max_drawdown", "volatility", "sharpe", "calmar", "sortino")


@handle_errors
@with_policy_options
def optimize_command(
    prices: Annotated[str, typer.Argument(help="CSV of date,price (or date,close) rows, oldest first; optional dividend column; - = stdin.", show_default=False)],
    grid_specs: Annotated[list[str] | None, typer.Option("--grid", metavar="NAME=VALUES", help="NAME=a,b,c or NAME=FROM:TO:STEP (inclusive, e.g. trigger=2%:6%:1%); repeat for more dimensions.", show_default=False)] = None,
    metric: Annotated[str, typer.Option("--metric", help="Rank by sharpe, return, excess_return, calmar, sortino (higher first), max_drawdown or volatility (lower first).")] = "sharpe",
    top: Annotated[int, typer.Option("--top", min=1, max=1_000_000, help="Rows in the table.")] = 10,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, max=1024, help="Worker processes (default: the cores); never changes a result.", show_default=False)] = None,
    train_until: Annotated[str | None, typer.Option("--train-until", help="Rank on the bars up to this date; show each row's metrics on the bars after it (test).", show_default=False)] = None,
    max_combinations: Annotated[int, typer.Option("--max-combinations", min=1, max=1_000_000, help="Refuse a larger grid.")] = 1000,
    cash: Annotated[str | None, typer.Option("--cash", help="Start with this capital: half in shares at the first price.", show_default=False)] = None,
    qty: Annotated[str | None, typer.Option("--qty", help="Start with these shares (with --anchor, default the first price).", show_default=False)] = None,
    anchor: Annotated[str | None, typer.Option("--anchor", help="Start anchor (default: the first price).", show_default=False)] = None,
    position: Annotated[str | None, typer.Option("--position", help="Start from this position's shares, cash, anchor and policy (read only).", show_default=False)] = None,
    withholding: Annotated[str, typer.Option("--withholding", help="Tax withheld from dividends in the file.")] = "25%",
    plot: Annotated[bool, typer.Option("--plot", help="Draw a heatmap of the metric over a one- or two-dimensional grid.")] = False,
    format: FormatOpt = None, as_json: JsonOpt = False,
    settings: dict[str, Any] | None = None,
) -> None:
    """Backtest every combination of a grid of policy values and rank them; writes nothing.

    Each combination is one `vb simulate` with the same start options. With --train-until D
    the ranking uses the bars up to D and every row also shows the metrics on the bars after
    D (a fresh start with the same options), so a winner chosen on the past can be checked
    on data it was not chosen on.

    Example: vb optimize prices.csv --cash 10000 --grid trigger=2%:6%:1% --grid ratio=1,1.5,2 --train-until 2022-12-31 --plot
    """
    from vbcli.services.ledger import backtest
    from vbcli.services.io.prices import read_bars

    fmt = output_format(format, as_json)
    fixed = parse_settings(settings or {})
    axes = parse_grid(grid_specs or [], fixed, max_combinations)
    if plot and len(axes) > 2:
        raise UsageError("--plot draws a heatmap of a grid with one or two dimensions; this grid has "
                         f"{len(axes)}.")
    grid.rank([], metric)  # an unknown metric is refused before any work
    start = {"cash": decimal_opt(cash, "--cash"), "qty": decimal_opt(qty, "--qty"),
             "anchor": decimal_opt(anchor, "--anchor", positive=True),
             "withholding": parse_fraction(withholding, what="--withholding")}
    bars = read_bars(prices)
    if position is not None:
        start["position"] = read(lambda s: backtest.position_start(s, ref=position))
    cut = _cut(bars, train_until)
    combos = grid.combinations(axes)
    changes = [_settings_of(fixed, combo) for combo in combos]
    _check(changes, combos, start.get("position"))
    shared = {"bars": bars, "cut": cut, "start": start}
    from vbcli.parallel import run_all

    # A bad start (no cash, no value) fails here once, on one bar, before any worker starts.
    _simulate(bars[:1], start, changes[0])
    with out.progress("backtesting", len(combos), wanted=len(combos) > 1) as advance:
        on_done = None if advance is None else lambda _done: advance(1)  # one call per finished combination
        results = run_all(run_combination, changes, shared=shared, jobs=jobs or _cores(), on_done=on_done)
    rows = [_row(combo, result) for combo, result in zip(combos, results)]
    order = grid.rank([r.pop("_exact") for r in rows], metric)
    ranked = [{"rank": place, **rows[index]} for place, index in enumerate(order, 1)]
    _render(ranked, fmt, axes, metric, top, bars, cut)
    if plot:
        from vbcli.cli.optimize_plot import heatmap

        heatmap(rows, axes, metric, order[0], sys.stdout if fmt in ("table", "plain") else sys.stderr)


def _cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parse_grid(specs: list[str], fixed: dict[str, Any], limit: int) -> list[grid.Axis]:
    """The --grid options as axes, each value parsed like its policy option; exit 2 on any flaw."""
    if not specs:
        raise UsageError("Give at least one --grid NAME=VALUES, e.g. --grid trigger=2%:6%:1%.")
    named: list[tuple[str, str]] = []
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().removeprefix("--").replace("_", "-")
        if not sep or name not in GRID_NAMES:
            raise UsageError(f"--grid {spec[:40]!r}: NAME must be one of {', '.join(GRID_NAMES)}, as NAME=VALUES.")
        named.append((name, values.strip()))
    _no_overlap([name for name, _ in named], fixed)
    counts = [grid.value_count(values, _parser(name), what=f"--grid {name}") for name, values in named]
    total = 1
    for count in counts:
        total *= count
    if total > limit:
        shape = " × ".join(str(c) for c in counts)
        raise UsageError(f"The grid has {total} combinations ({shape}), more than --max-combinations {limit}; "
                         "narrow it or raise the limit.")
    return [grid.Axis(name, grid.expand(values, _parser(name), what=f"--grid {name}")) for name, values in named]


def _parser(name: str) -> Callable[[str], Any]:
    key = name.replace("-", "_")

    def parse(text: str) -> Any:
        try:
            return next(iter(parse_settings({key: text}).values()))
        except UsageError as error:
            raise UsageError(f"--grid {name}: {error.message}") from None

    return parse


def _fields(name: str) -> set[str]:
    """The policy fields an option sets (trigger sets trigger_up and trigger_down)."""
    return set(parse_settings({name.replace("-", "_"): "hold" if name == "below-min" else "1"}))


def _no_overlap(names: list[str], fixed: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        for field in _fields(name):
            if field in seen:
                raise UsageError(f"--grid {name} and --grid {seen[field]} both set {field}; grid one of them.")
            if field in fixed:
                raise UsageError(f"--grid {name} sets {field}, which a policy option also sets; give it once.")
            seen[field] = name


def _settings_of(fixed: dict[str, Any], combo: dict[str, Any]) -> dict[str, Any]:
    settings = dict(fixed)
    for name, value in combo.items():
        settings.update(dict.fromkeys(_fields(name), value))
    return settings


def _check(changes: list[dict[str, Any]], combos: list[dict[str, Any]], position: Any) -> None:
    """Settings that contradict each other (min-alloc above max-alloc) → exit 2 naming the combination."""
    from vbcli.domain.policy import Guardrails, OrderPolicy, settings_with

    policy = position.policy if position is not None else OrderPolicy()
    guardrails = position.guardrails if position is not None else Guardrails()
    for change, combo in zip(changes, combos):
        try:
            settings_with(policy, guardrails, change)
        except VbError as error:
            shown = " ".join(f"{name}={_shown(value)}" for name, value in combo.items())
            raise UsageError(f"The grid combination {shown} is not a valid policy: {error.message}") from None


def _cut(bars: list[Any], train_until: str | None) -> int | None:
    """The number of training bars, or None without --train-until."""
    if train_until is None:
        return None
    day = parse_date(train_until, what="--train-until")
    cut = grid.split_index([bar.date for bar in bars], day)
    if cut == 0 or cut == len(bars):
        side = "before" if cut == 0 else "after"
        raise UsageError(f"--train-until {day.isoformat()} leaves no bars {side} it; the prices run "
                         f"{bars[0].date.isoformat()} .. {bars[-1].date.isoformat()}.")
    return cut


def run_combination(shared: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """One combination: the simulation summary with calmar and sortino, on train and test bars."""
    bars, cut = shared["bars"], shared["cut"]
    result = _simulate(bars if cut is None else bars[:cut], shared["start"], settings)
    if cut is not None:
        result["test"] = _simulate(bars[cut:], shared["start"], settings)
    return result


def _simulate(bars: list[Any], start: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    from vbcli.services.ledger import backtest

    outcome = backtest.run(bars=bars, settings=settings, **start)
    result = outcome.result
    periods = result.bars - 1  # daily returns
    strategy = {"calmar": grid.calmar(result.final_value, result.initial_value, periods, result.max_drawdown),
                "sortino": result.sortino}
    held = {"calmar": grid.calmar(result.buy_and_hold["final_value"], result.initial_value, periods,
                                  result.buy_and_hold["max_drawdown"]),
            "sortino": result.buy_and_hold_sortino}
    summary = {key: outcome.summary[key] for key in FIELDS if key in outcome.summary}
    summary.update({key: _ratio(value) for key, value in strategy.items()})
    summary["buy_and_hold"] = {**outcome.summary["buy_and_hold"], **{k: _ratio(v) for k, v in held.items()}}
    exact = {"return": result.ret, "excess_return": result.excess_return, "max_drawdown": result.max_drawdown,
             "volatility": result.volatility, "sharpe": result.sharpe, **strategy}
    return {"summary": summary, "exact": exact}


def _ratio(value: Decimal | None) -> Decimal | None:
    return None if value is None else round_ratio(value, 6)


def _row(combo: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    row = {"params": combo, **result["summary"]}
    if "test" in result:
        row["test"] = result["test"]["summary"]
    row["_exact"] = result["exact"]
    return row


def _shown(value: Any) -> str:
    from vbcli.domain.numbers import fmt

    return fmt(value) if isinstance(value, Decimal) else str(value)


def _render(rows: list[dict[str, Any]], fmt: str, axes: list[grid.Axis], metric: str, top: int,
            bars: list[Any], cut: int | None) -> None:
    if fmt in ("json", "ndjson"):
        show(rows, fmt)
        return
    names = [axis.name for axis in axes]
    if fmt == "csv":
        show([_flat(row, names) for row in rows], fmt)
        return
    shown = [_table_row(row, names, metric, fmt) for row in rows[:top]]
    held = {"rank": "buy&hold", **rows[0]["buy_and_hold"], "test": rows[0].get("test", {}).get("buy_and_hold")}
    shown.append(_table_row(held, [], metric, fmt))
    end = bars[-1].date if cut is None else bars[cut - 1].date
    split = "" if cut is None else f"; test {bars[cut].date.isoformat()} .. {bars[-1].date.isoformat()}"
    title = (f"optimize: {len(rows)} combinations by {metric}, {bars[0].date.isoformat()} .. {end.isoformat()}{split}")
    columns = list(shown[0])
    show(shown, fmt, title=title, columns=columns, table_columns=columns)


def _flat(row: dict[str, Any], names: list[str]) -> dict[str, Any]:
    flat: dict[str, Any] = {"rank": row["rank"], **{name: row["params"][name] for name in names}}
    flat.update({key: row[key] for key in FIELDS})
    flat.update({f"buy_and_hold_{key}": row["buy_and_hold"][key] for key in HELD})
    if "test" in row:
        flat.update({f"test_{key}": row["test"][key] for key in FIELDS})
        flat.update({f"test_buy_and_hold_{key}": row["test"]["buy_and_hold"][key] for key in HELD})
    return flat


def _table_row(row: dict[str, Any], names: list[str], metric: str, fmt: str) -> dict[str, Any]:
    """Rank, parameters, the metric and a few others, and the metric on the test bars."""
    shown: dict[str, Any] = {"rank": row["rank"], **{name: row.get("params", {}).get(name) for name in names}}
    for key in dict.fromkeys([metric, *TABLE_METRICS]):
        shown[key] = _short(row.get(key), fmt)
    shown["trades"] = row.get("trades")
    test = row.get("test")
    if test is not None:
        shown[f"test_{metric}"] = _short(test.get(metric), fmt)
        if metric != "return":
            shown["test_return"] = _short(test.get("return"), fmt)
    return shown


def _short(value: Decimal | None, fmt: str) -> Decimal | None:
    """Four decimals in the table (csv, json and plain keep six)."""
    return value if value is None or fmt != "table" else round_ratio(value, 4)


def register(app: typer.Typer) -> None:
    """Add `vb optimize` to the root app."""
    app.command("optimize")(optimize_command)
