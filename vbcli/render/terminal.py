"""The `table` format: listings and records laid out for a person at a terminal (SPEC §8.0).

Columns fit the width (80 and up): optional columns leave first, then free text is cut with
`…`; numbers and ids are never cut or wrapped. Numbers are right-aligned.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, TextIO

from vbcli.render import cells
from vbcli.render.designs import CUT, DATE, DESIGNS, ID, MONEY, NUMERIC, PCT, POSITION, PRICE, QTY, SECTIONS, TIME, Col, generic, kind_of

Row = dict[str, Any]
GAP = "  "


def width_of(out: TextIO) -> int:
    """The terminal's width (COLUMNS wins); 80 when it cannot be known."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def colour(out: TextIO) -> bool:
    """Bold headers only on a terminal, never with NO_COLOR or TERM=dumb."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(out, "isatty", lambda: False)())


class Labels:
    """Portfolio, symbol and currency of the rows' positions, and the ids that prefixes must avoid."""

    def __init__(self, context: dict[str, Any] | None) -> None:
        context = context or {}
        self.positions: dict[str, tuple[str, str, str]] = context.get("positions", {})
        self.currencies: dict[str, str] = context.get("currencies", {})
        self.known: list[str] = context.get("ids", [])
        shown = {p for p, _, _ in self.positions.values()}
        self.qualify = len(shown) > 1  # PORTFOLIO/SYMBOL only when symbols can repeat across portfolios

    def currency(self, row: Row) -> str | None:
        if row.get("currency"):
            return str(row["currency"])
        if row.get("portfolio") in self.currencies:
            return self.currencies[row["portfolio"]]
        known = self.positions.get(row.get("position_id") or row.get("id") or "")
        return known[2] if known else None

    def position(self, row: Row) -> str:
        symbol = str(row.get("symbol") or "")
        portfolio = row.get("portfolio")
        if portfolio is None:
            known = self.positions.get(row.get("position_id") or "")
            portfolio = known[0] if known else None
            symbol = symbol or (known[1] if known else "")
        return f"{portfolio}/{symbol}" if self.qualify and portfolio else symbol


def cell(col: Col, row: Row, labels: Labels, currency: str | None, code: bool, prefixes: dict[str, str]) -> str:
    value = row.get(col.key)
    kind = col.kind
    if kind == POSITION:
        return labels.position(row)
    if value is None or value == "" or (col.quiet and value == col.quiet):
        return ""
    if kind == ID:
        return prefixes.get(str(value), str(value))
    if kind == MONEY:
        return cells.money(value, currency, code=code)
    if kind == PRICE:
        return cells.price(value, currency)
    if kind == QTY:
        return cells.quantity(value)
    if kind == PCT:
        return cells.percent(value)
    if kind == TIME:
        return cells.when(value)
    if kind == DATE:
        return cells.day(value)
    return cells.visible(cells.cell_text(value))


def list_table(rows: list[Row], columns: list[str] | None, out: TextIO, title: str | None,
               context: dict[str, Any] | None = None) -> None:
    """A listing: the noun's design (or one guessed from `columns`), fitted to the terminal."""
    if not rows:
        out.write(f"No {title or 'rows'}.\n")
        return
    rows = [_with_ids(row) for row in rows]
    design = DESIGNS.get(title or "")
    if design is None:
        design = generic(columns or list(rows[0]), rows[0])
        if title:
            out.write(f"{title}\n")
    design = [col for col in design
              if col.kind == POSITION or any(row.get(col.key) not in (None, "", col.quiet or None) for row in rows)]
    labels = Labels(context)
    currencies = {labels.currency(row) for row in rows}
    code = len(currencies) > 1
    prefixes = cells.short_ids((str(row[c.key]) for row in rows for c in design if c.kind == ID and row.get(c.key)),
                               labels.known)
    grid = [[cell(col, row, labels, labels.currency(row), code, prefixes) for col in design] for row in rows]
    shown, widths = _fit(design, grid, width_of(out))
    bold = colour(out)
    header = GAP.join(_pad(design[i].header, widths[i], design[i]) for i in shown).rstrip()
    out.write(f"\x1b[1m{header}\x1b[0m\n" if bold else header + "\n")
    for line in grid:
        out.write(GAP.join(_pad(_cut(line[i], widths[i]), widths[i], design[i]) for i in shown).rstrip() + "\n")
    single = next(iter(currencies)) if len(currencies) == 1 else None
    if single and any(c.kind in (MONEY, PRICE) for c in (design[i] for i in shown)):
        out.write(f"{len(rows)} {title or 'rows'}; amounts in {single}\n")


def _with_ids(row: Row) -> Row:
    """A nested order or trade (evaluate --place) is shown by its id."""
    extra = {f"{key}_id": value.get("id") for key, value in row.items() if isinstance(value, dict) and "id" in value}
    return {**row, **extra} if extra else row


def _fit(design: list[Col], grid: list[list[str]], limit: int) -> tuple[list[int], list[int]]:
    """Which columns to show and how wide: drop optional columns, then cut free text."""
    widths = [max([len(design[i].header), *(len(line[i]) for line in grid)]) for i in range(len(design))]
    shown = list(range(len(design)))

    def total() -> int:
        return sum(widths[i] for i in shown) + len(GAP) * (len(shown) - 1)

    droppable = sorted((i for i in shown if design[i].drop), key=lambda i: (-design[i].drop, -i))
    for i in droppable:  # first the nice-to-have columns (drop 3 and up)
        if total() <= limit or design[i].drop < 3:
            break
        shown.remove(i)
    for j in (j for j in shown if design[j].kind == CUT):  # then free text is cut
        over = total() - limit
        if over > 0:
            widths[j] = max(design[j].min_width, len(design[j].header), widths[j] - over)
    for i in droppable:  # then the rest of the optional columns
        if total() <= limit:
            break
        if i in shown:
            shown.remove(i)
    return shown, widths


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _pad(text: str, width: int, col: Col) -> str:
    return text.rjust(width) if col.kind in NUMERIC else text.ljust(width)


def record_table(row: Row, out: TextIO, context: dict[str, Any] | None = None) -> None:
    """One object as labelled lines, in sections when it has a position's fields."""
    labels = Labels(context)
    currency = labels.currency(row)
    sections: list[tuple[str | None, list[tuple[str, Any]]]] = []
    used: set[str] = set()
    if "order_policy" in row or "guardrails" in row:
        for name, keys in SECTIONS:
            items = []
            for key in keys:
                if isinstance(row.get(key), dict):
                    items.extend(row[key].items())
                elif key in row:
                    items.append((key, row[key]))
                used.add(key)
            if items:
                sections.append((name, items))
    rest = [(key, value) for key, value in row.items() if key not in used]
    if rest:
        sections.append(("Other" if sections else None, rest))
    bold = colour(out)
    key_width = max(len(key) for _, items in sections for key, _ in items)
    for name, items in sections:
        if name:
            out.write(f"\x1b[1m{name}\x1b[0m\n" if bold else f"{name}\n")
        texts = [(key, value, _record_value(key, value, currency)) for key, value in items]
        coded = currency is not None and any(kind_of(key, value) in (MONEY, PRICE) for key, value in items)
        texts = [(key, value, text + " " * (len(currency or "") + 1) if coded and text and kind_of(key, value) in (QTY, PCT) else text)
                 for key, value, text in texts]  # decimal points line up with amounts that carry a code
        number_width = max([len(text) for key, value, text in texts if kind_of(key, value) in NUMERIC] or [0])
        indent = "  " if name else ""
        for key, value, text in texts:
            shown = text.rjust(number_width) if kind_of(key, value) in NUMERIC else text
            out.write(f"{indent}{key.ljust(key_width)}  {shown}".rstrip() + "\n")


def _record_value(key: str, value: Any, currency: str | None) -> str:
    kind = kind_of(key, value)
    if value is None:
        return ""
    if kind == MONEY:
        return cells.money(value, currency, code=bool(currency))
    if kind == PRICE:
        return f"{cells.price(value, currency)} {currency}" if currency else cells.price(value)
    if kind == QTY:
        return cells.quantity(value)
    if kind == PCT:
        return cells.percent(value)
    if kind == TIME:
        return cells.when(value)
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    return cells.visible(cells.cell_text(value))
