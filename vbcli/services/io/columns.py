"""Which column of a file holds which field: header names, broker synonyms and `--map`.

Names are matched case-insensitively, ignoring spaces, `_`, `-`, `.` and `/` (`Trade Date`,
`trade_date` and `TRADEDATE` are one name). A field's own name wins over its synonyms; two
columns that could both be one field, a column named twice, and a `--map` naming a column
the file lacks are refused, so a figure is never taken from the wrong column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from vbcli.domain.words import did_you_mean
from vbcli.errors import BadInputData, UsageError, problem

_NOISE = re.compile(r"[\s_\-./]+")


def normal(name: str) -> str:
    """The form header names are compared in."""
    return _NOISE.sub("", name.strip().lower())


@dataclass(frozen=True)
class Field:
    """One field a reader takes, with the other names files use for it."""

    name: str
    synonyms: tuple[str, ...] = ()
    required: bool = False
    exact: bool = False  # keep surrounding spaces (keys and notes come back byte for byte)


@dataclass(frozen=True)
class Schema:
    """The fields of one kind of file; `known` columns are read by nobody and never reported."""

    what: str  # e.g. "symbol,price rows", for messages
    fields: tuple[Field, ...]
    known: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()  # groups of fields of which a header needs at least one

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Header:
    """Where each field is: field → column index; `unused` are the columns nobody reads."""

    positions: dict[str, int]
    names: dict[str, str]  # field → the column's name as the file spells it
    unused: tuple[str, ...] = field(default=())


def parse_mapping(items: Iterable[str], schema: Schema) -> dict[str, str]:
    """`--map field=Column` options → field → column name (exit 2 for an unknown field)."""
    mapping: dict[str, str] = {}
    names = [f.name for f in schema.fields]
    for item in items:
        target, sep, column = item.partition("=")
        target = target.strip().lower()
        if not sep or not target or not column.strip():
            raise UsageError(f"--map takes FIELD=COLUMN (e.g. --map qty=Shares), not {item[:60]!r}.")
        if target not in names:
            raise UsageError(f"--map {target[:40]!r} is not a field of {schema.what}{did_you_mean(target, names)}; "
                             f"the fields are {', '.join(names)}.")
        mapping[target] = column.strip()
    return mapping


def locate(cells: list[str], schema: Schema, mapping: Mapping[str, str], source: str, line: int) -> Header:
    """The header row `cells` mapped onto `schema` (exit 7 naming the columns on any doubt)."""
    _no_duplicates(cells, source, line)
    by_normal = {normal(name): index for index, name in enumerate(cells) if normal(name)}
    positions: dict[str, int] = {}
    for target, column in mapping.items():
        index = by_normal.get(normal(column))
        if index is None:
            raise BadInputData(f"{source} has no column {column!r} for --map {target}={column}.",
                               details=[problem(source, line, f"no column {column!r}; the columns are {', '.join(cells)}")])
        positions[target] = index
    taken = set(positions.values())
    for spec in schema.fields:
        if spec.name not in positions:
            index = _find(spec, by_normal, taken, cells, source, line)
            if index is not None:
                positions[spec.name] = index
                taken.add(index)
    _required(schema, positions, source, line)
    known = {normal(name) for name in schema.known} | {normal(f.name) for f in schema.fields}
    unused = tuple(name for index, name in enumerate(cells)
                   if index not in taken and normal(name) and normal(name) not in known)
    return Header(positions, {name: cells[index] for name, index in positions.items()}, unused)


def _no_duplicates(cells: list[str], source: str, line: int) -> None:
    first: dict[str, int] = {}
    for index, name in enumerate(cells):
        key = normal(name)
        if not key:
            continue
        if key in first:
            raise BadInputData(f"{source} names a column twice; nothing was done.", details=[problem(
                source, line, f"columns {first[key] + 1} and {index + 1} are both {name.strip()!r}; "
                              "rename or remove one (vb will not guess which holds the figure)")])
        first[key] = index


def _find(spec: Field, by_normal: dict[str, int], taken: set[int], cells: list[str], source: str, line: int) -> int | None:
    own = by_normal.get(normal(spec.name))
    if own is not None and own not in taken:
        return own
    candidates = [by_normal[normal(s)] for s in spec.synonyms if normal(s) in by_normal and by_normal[normal(s)] not in taken]
    if len(candidates) > 1:
        names = " and ".join(repr(cells[i].strip()) for i in candidates)
        raise BadInputData(f"{source} has more than one column that could be {spec.name}; nothing was done.", details=[problem(
            source, line, f"columns {names} could both be {spec.name}; choose one with --map {spec.name}=COLUMN")])
    return candidates[0] if candidates else None


def _required(schema: Schema, positions: dict[str, int], source: str, line: int) -> None:
    missing = [f for f in schema.fields if f.required and f.name not in positions]
    for group in schema.one_of:
        if not any(name in positions for name in group):
            raise BadInputData(f"{source} lacks a {' or '.join(group)} column; nothing was done.", details=[problem(
                source, line, f"no {', '.join(group[:-1])} or {group[-1]} column; the header needs {schema.what}")])
    if missing:
        details = [problem(source, line, f"no {f.name} column" + (f" (also accepted: {', '.join(f.synonyms)})" if f.synonyms else "")
                           + f"; the header needs {schema.what}, or use --map {f.name}=COLUMN") for f in missing]
        raise BadInputData(f"{source} lacks the {' and '.join(f.name for f in missing)} column; nothing was done.",
                           details=details)
