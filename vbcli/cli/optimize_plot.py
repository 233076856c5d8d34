"""The `vb optimize --plot` heatmap: the metric over a one- or two-dimensional grid, as text.

Every cell shows its value (readable without colour) and the best cell is marked `*`.
Colour only at a terminal and never with NO_COLOR set; floats are used for the shade only.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any, TextIO

from vbcli.domain.grid import LOWER_FIRST, Axis
from vbcli.domain.numbers import fmt

SHOWN_PLACES = 4
# ANSI 256-colour backgrounds from worst to best: red, orange, yellow, light green, green.
SHADES = (203, 215, 229, 157, 114)
BEST = "*"


def heatmap(rows: list[dict[str, Any]], axes: list[Axis], metric: str, best: int, out: TextIO) -> None:
    """Print the grid of `metric` (rows in grid order; `best` is the index of the best row)."""
    down = axes[0] if len(axes) == 2 else Axis("", ("",))
    across = axes[-1]
    values = [row.get(metric) for row in rows]
    cells = [_cell(value, index == best) for index, value in enumerate(values)]
    width = max(len(text) for text in cells + [fmt_value(v) for v in across.values])
    label_width = max([len(down.name)] + [len(fmt_value(v)) for v in down.values])
    color = out.isatty() and not os.environ.get("NO_COLOR")
    order = "lower is better" if metric in LOWER_FIRST else "higher is better"
    rows_name = f"{down.name} (rows) × " if down.name else ""
    lines = [f"{metric} ({order}) over {rows_name}{across.name} (columns); {BEST} marks the best", ""]
    lines.append(" " * label_width + " | " + " ".join(fmt_value(v).rjust(width) for v in across.values))
    lines.append("-" * label_width + "-+-" + "-" * ((width + 1) * len(across.values) - 1))
    shade = _shader([v for v in values if v is not None], metric in LOWER_FIRST)
    for r, label in enumerate(down.values):
        row_cells = []
        for c in range(len(across.values)):
            index = r * len(across.values) + c
            text = cells[index].rjust(width)
            if color and values[index] is not None:
                text = f"\x1b[30;48;5;{shade(values[index])}m{text}\x1b[0m"
            row_cells.append(text)
        lines.append(fmt_value(label).rjust(label_width) + " | " + " ".join(row_cells))
    print("\n".join(lines), file=out)


def fmt_value(value: Any) -> str:
    return fmt(value) if isinstance(value, Decimal) else str(value)


def _cell(value: Decimal | None, best: bool) -> str:
    if value is None:
        return "n/a"
    shown = fmt(value.quantize(Decimal(1).scaleb(-SHOWN_PLACES)))
    return f"{BEST}{shown}" if best else shown


def _shader(values: list[Decimal], lower_first: bool):  # type: ignore[no-untyped-def]
    low, high = (float(min(values)), float(max(values))) if values else (0.0, 0.0)

    def shade(value: Decimal) -> int:
        if high == low:
            return SHADES[-1]
        position = (float(value) - low) / (high - low)
        if lower_first:
            position = 1 - position
        return SHADES[min(len(SHADES) - 1, int(position * len(SHADES)))]

    return shade
