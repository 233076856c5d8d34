"""`vb evaluate`: what the volatility-balancing rule proposes, and optionally doing it (SPEC §4)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from vbcli.cli.common import (
    DryRunOpt, FormatOpt, JsonOpt, KeyOpt, OptionalPosArg, decimal_opt, handle_errors, key_opt, labels_for, output_format, read,
    show, write,
)
from vbcli.domain.timeparse import parse_age
from vbcli import render
from vbcli.errors import BadInputData, UsageError, problem

if TYPE_CHECKING:
    from vbcli.services.io.prices import Quotes

ALL_COLUMNS = ["portfolio", "symbol", "action", "side", "qty", "price", "notional", "commission", "reason"]

PriceOpt = Annotated[str | None, typer.Option("--price", help="Price to evaluate the position at.", show_default=False)]
AllOpt = Annotated[bool, typer.Option("--all", help="Evaluate every open position from --prices.")]
PricesOpt = Annotated[str | None, typer.Option("--prices", help="CSV with a symbol,price header (- = stdin), for --all (default: stored prices).", show_default=False)]
StrictOpt = Annotated[bool, typer.Option("--strict", help="With --all: a symbol of --prices with no open position is exit 7 (nothing evaluated).")]
MapOpt = Annotated[list[str] | None, typer.Option("--map", help="With --prices: FIELD=COLUMN (symbol, price), e.g. --map price=Last.", show_default=False)]
MaxAgeOpt = Annotated[str, typer.Option("--max-age", help="Without --price/--prices: a stored price older than this is HOLD \"stale price\" (4d, 36h, 90m).")]
PlaceOpt = Annotated[bool, typer.Option("--place", help="Place the proposed order (or reset the anchor) and log the evaluation.")]
FillOpt = Annotated[bool, typer.Option("--fill", help="With --place: also fill the order at the price (default commission).")]


def evaluate_command(
    pos: OptionalPosArg = None,
    price: PriceOpt = None,
    all_: AllOpt = False,
    prices: PricesOpt = None,
    place: PlaceOpt = False,
    fill: FillOpt = False,
    max_age: MaxAgeOpt = "4d",
    strict: StrictOpt = False,
    mapping: MapOpt = None,
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """What the rule says at a price: BUY, SELL, HOLD, REJECTED or ANCHOR_RESET, with the working.

    Writes nothing unless --place (places the order, or resets the anchor, and logs an
    `evaluation` event) or --place --fill (also fills it at the price). With --all, every
    open position is evaluated in one transaction, from a symbol,price CSV or else from the
    stored prices; positions without a price are HOLD "no price". Without --price or
    --prices, the latest stored price or fill is used (its time is `price_at`), and one older
    than --max-age is HOLD "stale price".

    Example: vb evaluate AAPL --price 145.2 --place --key 2026-11-26-aapl
    """
    fmt = output_format(format, as_json)
    if fill and not place:
        raise UsageError("--fill needs --place: the order must be placed before it can be filled.")
    idem = key_opt(key)
    age = parse_age(max_age, what="--max-age")
    if all_:
        _evaluate_all(pos, price, prices, place, fill, fmt, idem, dry_run, age, strict=strict, mapping=mapping or [])
        return
    if pos is None or prices is not None:
        raise UsageError("Give a position (and --price), or --all (see vb evaluate --help).")
    _evaluate_one(pos, price, place, fill, fmt, idem, dry_run, age)


def _evaluate_one(pos: str, price_text: str | None, place: bool, fill: bool, fmt: str, key: str | None, dry_run: bool,
                  age: timedelta) -> None:
    from vbcli.services.ledger import evaluate

    price = decimal_opt(price_text, "--price", positive=True)
    if place:
        request = {"pos": pos, "price": price, "fill": fill, **({} if price else {"max_age": age.total_seconds()})}
        result = write("evaluate", request, key, dry_run,
                       lambda s: evaluate.place_one(s, ref=pos, price=price, fill=fill, key=key, max_age=age))
    else:
        result = read(lambda s: evaluate.evaluate_one(s, ref=pos, price=price, max_age=age))
    if fmt == "table":  # a record table shows the placed order and trade by their ids
        result = {k: v["id"] if k in ("order", "trade") and isinstance(v, dict) else v for k, v in result.items()}
    show(result, fmt, context=labels_for(fmt))


def _evaluate_all(pos: str | None, price: str | None, path: str | None, place: bool, fill: bool, fmt: str,
                  key: str | None, dry_run: bool, age: timedelta, *, strict: bool = False, mapping: list[str] | None = None) -> None:
    from vbcli.services.io.columns import parse_mapping
    from vbcli.services.io.schemas import QUOTES
    from vbcli.services.ledger import evaluate
    from vbcli.services.io.prices import read_symbol_prices

    if pos is not None or price is not None:
        raise UsageError("--all evaluates every open position; give --prices FILE (or nothing) instead of a position or --price.")
    quotes = None
    if path is not None:
        read_quotes = read_symbol_prices(path, parse_mapping(mapping or [], QUOTES))
        if read_quotes.unused:
            render.note(f"{read_quotes.source}: not read: {', '.join(read_quotes.unused)} (--map FIELD=COLUMN reads one).")
        _unmatched(read_quotes, read(evaluate.open_symbols), strict)
        quotes = read_quotes.prices
    if place:
        request = {"prices": quotes, "fill": fill, **({} if quotes else {"max_age": age.total_seconds()})}
        rows = write("evaluate.all", request, key, dry_run,
                     lambda s: evaluate.evaluate_all(s, prices=quotes, place=True, fill=fill, max_age=age))
    else:
        rows = read(lambda s: evaluate.evaluate_all(s, prices=quotes, max_age=age))
    show(rows, fmt, title="evaluations", table_columns=ALL_COLUMNS, context=labels_for(fmt, "orders"))


def _unmatched(quotes: Quotes, symbols: set[str], strict: bool) -> None:
    """Symbols of the price file with no open position: named on stderr; with --strict, exit 7."""
    lines = sorted((line, symbol) for symbol, line in quotes.lines.items() if symbol not in symbols)
    details = [problem(quotes.source, line, f"no open position for {symbol}") for line, symbol in lines]
    if strict and details:
        raise BadInputData(f"{len(details)} symbol(s) of {quotes.source} match no open position (--strict); nothing was evaluated.",
                           details=details)
    for line in details:
        render.warning(f"{line}; its price is not used")


def register(app: typer.Typer) -> None:
    """Add `vb evaluate` to the root app."""
    app.command("evaluate")(handle_errors(evaluate_command))
