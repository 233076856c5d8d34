"""`vb portfolios`: add, list, show, remove."""

from __future__ import annotations

from typing import Annotated

import typer

from vbcli.cli.common import DryRunOpt, FormatOpt, JsonOpt, KeyOpt, handle_errors, key_opt, output_format, read, show, write

app = typer.Typer(help="Portfolios: named groups of positions.\n\nExample: vb portfolios add retirement --currency USD", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Portfolio name.", show_default=False)]
# The header of an empty listing (plain, csv); a test keeps it equal to the service's rows.
FIELDS = ["id", "name", "currency", "description", "created_at", "updated_at", "positions"]


@app.command("add")
@handle_errors
def add(
    name: NameArg,
    currency: Annotated[str, typer.Option("--currency", help="Three-letter currency code.")] = "USD",
    description: Annotated[str, typer.Option("--description", help="Free text.")] = "",
    format: FormatOpt = None, as_json: JsonOpt = False, key: KeyOpt = None, dry_run: DryRunOpt = False,
) -> None:
    """Create a portfolio.

    Example: vb portfolios add retirement --currency USD
    """
    from vbcli.services.ledger import portfolios

    fmt = output_format(format, as_json)
    request = {"name": name, "currency": currency, "description": description}
    result = write("portfolios.add", request, key_opt(key), dry_run,
                   lambda s: portfolios.add(s, name=name, currency=currency, description=description))
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
