"""Help that reads like a manual: metavars by meaning, commands in panels by task, full first lines.

Applied once to the built command tree (cheap: no imports beyond Typer's own). A new command
gets a panel by its name in PANELS and metavars by its parameter names in METAVARS.
"""

from __future__ import annotations

from typing import Any

PANELS: dict[str, tuple[str, ...]] = {
    "Record": ("positions", "orders", "trades", "dividends", "splits", "prices"),
    "Decide": ("evaluate", "simulate", "optimize", "process"),
    "Report": ("events", "report", "gains", "lots"),
    "Files": ("export", "import"),
    "Ledger": ("portfolios", "db", "server", "serve", "completion"),
}
METAVARS = {
    "pos": "POS", "side": "SIDE", "qty": "QTY", "amount": "AMOUNT", "order": "ORDER", "trade": "TRADE",
    "dividend": "DIVIDEND", "name": "NAME", "symbol": "SYMBOL", "file": "FILE", "path": "FILE", "source": "FILE",
    "prices": "FILE", "out": "FILE", "price": "PRICE", "anchor": "PRICE", "avg_cost": "PRICE", "per_share": "AMOUNT",
    "cash": "AMOUNT", "commission": "AMOUNT", "at": "TIME", "since": "TIME", "until": "TIME", "date": "DATE",
    "ex_date": "DATE", "pay_date": "DATE", "format": "FORMAT", "key": "KEY", "portfolio": "NAME", "status": "STATUS",
    "type": "TYPE", "note": "TEXT", "reason": "TEXT", "description": "TEXT", "currency": "CODE", "db": "LEDGER",
    "withholding": "RATE", "shell": "SHELL", "lot": "TRADE[:QTY]", "cost_basis": "METHOD", "year": "YEAR",
}
ROOT_OPTIONS = ("--db", "--version")


def panel_of(name: str) -> str:
    return next((panel for panel, names in PANELS.items() if name in names), "Other")


def metavar_of(param: Any) -> str | None:
    """QTY, PRICE, TIME… by the parameter's name; N for counts; percentages as RATE."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    name = param.name or ""
    if name == "limit":
        return "N" if getattr(getattr(param, "type", None), "name", "") == "integer" else "PRICE"
    if name in METAVARS:
        return METAVARS[name]
    if any(word in name for word in ("trigger", "alloc", "rate", "ratio", "reset", "max_trade")):
        return "RATE"
    if getattr(getattr(param, "type", None), "name", "") == "integer":
        return "N"
    return name.upper() if name else None


def apply(command: Any) -> None:
    """Set metavars and full one-line summaries on `command` and everything under it."""
    for param in getattr(command, "params", []):
        if getattr(param, "metavar", None) is None:
            param.metavar = metavar_of(param)
    for sub in getattr(command, "commands", {}).values():
        if not sub.short_help and sub.help:
            sub.short_help = sub.help.strip().split("\n\n")[0].replace("\n", " ")
        apply(sub)


def format_commands(group: Any, ctx: Any, formatter: Any) -> None:
    """The root's commands in panels by task (record, decide, report, files, ledger)."""
    rows: dict[str, list[tuple[str, str]]] = {panel: [] for panel in (*PANELS, "Other")}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None and not command.hidden:
            rows[panel_of(name)].append((name, command.get_short_help_str(200)))
    for panel, entries in rows.items():
        if entries:
            order = {name: index for index, name in enumerate(PANELS.get(panel, ()))}
            with formatter.section(panel):
                formatter.write_dl(sorted(entries, key=lambda entry: order.get(entry[0], len(order))))


def root_option_hint(message: str) -> str:
    """'No such option: --db' after a command: say where root options go."""
    for option in ROOT_OPTIONS:
        if f"No such option: {option}" in message:
            return f"; {option} is an option of vb itself and goes before the command (vb {option} … positions list)"
    return ""
