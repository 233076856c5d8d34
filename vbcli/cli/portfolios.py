"""`vb portfolios`: add, list, show, set, remove."""

from __future__ import annotations

from typing import Annotated

import typer

from vbcli.cli.common import (
    DryRunOpt, FormatOpt, JsonOpt, KeyOpt, choice, choices, handle_errors, key_opt, output_format, read, show, write,
)

app = typer.Typer(help="Portfolios: named groups of positions.\n\nExample: vb portfolios add retirement --currency USD", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Portfolio name.", show_default=False)]
# The header of an empty listing (plain, csv); a test keeps it equal to the service's rows.
FIELDS = ["id", "name", "currency", "description", "created_at", "updated_at", "positions", "cost_basis"]  # new fields go last (SPEC §7)
METHODS = ("average", "fifo", "lifo", "hifo")  # domain/lots.METHODS (not imported: --help stays light)
CostBasisOpt = Annotated[str, typer.Option("--cost-basis", autocompletion=choices(*METHODS),
                                           help="How sells close lots: average, fifo, lifo or hifo (highest cost first).")]


def cost_basis_opt(value: str) -> str:
    return choice(value, METHODS, "--cost-basis")


@app.command("add")
@handle_errors
def add(
    name: NameArg,
    currency: Annotated[str, typer.Option("--currency", help="Three-letter currency code.")] = "USD",
    description: Annotated[str, typer.Option("--description", help="Free text.")] = "",
    cost_basis: CostBasisOpt = "average",
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Create a portfolio.

    Example: vb portfolios add retirement --currency USD --cost-basis fifo
    """
    from vbcli.services.ledger import portfolios

    fmt = output_format(format, as_json)
    method = cost_basis_opt(cost_basis)
    request = {"name": name, "currency": currency, "description": description, **({"cost_basis": method} if method != "average" else {})}
    result = write("portfolios.add", request, key_opt(key), dry_run,
                   lambda s: portfolios.add(s, name=name, currency=currency, description=description, cost_basis=method))
    show(result, fmt)


@app.command("set")
@handle_errors
def set_(
    name: NameArg,
    cost_basis: Annotated[str, typer.Option("--cost-basis", autocompletion=choices(*METHODS), show_default=False,
                                            help="average, fifo, lifo or hifo; every position of the portfolio is re-derived.")],
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Change a portfolio's cost basis: its positions' lots and realized P&L are re-derived.

    Example: vb portfolios set retirement --cost-basis fifo
    """
    from vbcli.services.ledger import portfolios

    fmt = output_format(format, as_json)
    method = cost_basis_opt(cost_basis)
    result = write("portfolios.set", {"name": name, "cost_basis": method}, key_opt(key), dry_run,
                   lambda s: portfolios.set_cost_basis(s, name=name, cost_basis=method))
    show(result, fmt)


@app.command("list")
@handle_errors
def list_(format: FormatOpt = None, as_json: JsonOpt = False) -> None:
    """List portfolios with their number of open positions.

    Example: vb portfolios list --format csv
    """
    from vbcli.services.ledger import portfolios

    fmt = output_format(format, as_json)
    show(read(portfolios.list_all), fmt, title="portfolios", empty_columns=FIELDS,
         table_columns=["name", "currency", "positions", "description", "id"])


@app.command("show")
@handle_errors
def show_(name: NameArg, format: FormatOpt = None, as_json: JsonOpt = False) -> None:
    """Show one portfolio.

    Example: vb portfolios show default --json
    """
    from vbcli.services.ledger import portfolios

    fmt = output_format(format, as_json)
    show(read(lambda s: portfolios.show(s, name=name)), fmt)


@app.command("remove")
@handle_errors
def remove(name: NameArg, format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False) -> None:
    """Remove an empty portfolio.

    Example: vb portfolios remove old-experiments
    """
    from vbcli.services.ledger import portfolios

    fmt = output_format(format, as_json)
    result = write("portfolios.remove", {"name": name}, key_opt(key), dry_run, lambda s: portfolios.remove(s, name=name))
    show(result, fmt)
