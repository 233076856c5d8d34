"""The `vb` command: a root app with one sub-app per noun (SPEC §5)."""

from __future__ import annotations

import copy
import functools
import signal
import sys
from typing import Annotated, Any

import typer

from typer.core import TyperGroup

from vbcli import __version__
from vbcli.argv import named_command
from vbcli.cli import common, manual
from vbcli.errors import ExitCode


class VbGroup(TyperGroup):
    """The root group: usage errors become one `vb: …` line on stderr with exit 2 (SPEC §6)."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

        if not getattr(self, "_vb_manual", False):  # once per built tree (a server's workers share one)
            manual.apply(self)
            self._vb_manual = True
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as error:
            common.out.to_stderr(error.ctx.get_help() if error.ctx else "")
            code = ExitCode.USAGE
        except UsageError as error:
            argv = kwargs.get("args", args[0] if args else None)
            negative = common.negative_argument(error, list(argv) if argv is not None else sys.argv[1:])
            if negative:
                print(f"vb: {common.out.visible(negative)}", file=sys.stderr)
                code = 2
                if not standalone_mode:
                    return code
                sys.exit(code)
            where = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
            message = common.out.visible(error.format_message().rstrip("."))
            common.out.note(f"{message}{manual.root_option_hint(message)}{where}.")
            code = error.exit_code
        except ClickException as error:
            common.out.note(common.out.visible(error.format_message()))
            code = error.exit_code
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        manual.format_commands(self, ctx, formatter)


app = typer.Typer(
    cls=VbGroup,
    name="vb",
    help="vb: a ledger for volatility balancing. Positions of one stock plus cash; buy dips, sell rises.\n\n"
    "Example: vb positions add AAPL --qty 100 --cash 10000 --anchor 150",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: Rich costs ~80 ms per --help
)


def _version(value: bool) -> None:
    if value:
        common.out.line(f"vb {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def root(
    db: Annotated[str | None, typer.Option("--db", help="Ledger: a SQLite file path or a sqlite:/// or postgresql:// URL (env SQL_URL).", show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """vb: a ledger for volatility balancing."""
    common.State.db = db


def _register() -> None:
    from vbcli.cli import db, events, orders, portfolios, positions, trades

    app.add_typer(portfolios.app, name="portfolios")
    app.add_typer(positions.app, name="positions")
    app.add_typer(orders.app, name="orders")
    app.add_typer(trades.app, name="trades")
    app.add_typer(events.app, name="events")
    app.add_typer(db.app, name="db")
    from vbcli.cli import completion, dividends, evaluate, gains, io, optimize, prices, report, serve, server, simulate, splits

    for module in (evaluate, dividends, splits, simulate, optimize, io, prices, report, gains, completion, serve, server):
        module.register(app)


_register()


class Terminated(SystemExit):
    """SIGTERM, raised like Ctrl-C wherever Python is, so the open transaction rolls back."""


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(128 + signum)


@functools.cache
def command() -> Any:
    """The Click command behind `app`, built once: Typer builds it on every call (~0.1 s), which a
    command server's workers (vbcli/cmdserver) would otherwise pay for each command."""
    return typer.main.get_command(app)


def command_for(argv: list[str]) -> Any:
    """The tree that runs `argv`: the whole one if this process has it (a command server's
    worker), else only the root and the branch argv names. Building every command's
    parameters costs ~40 ms of a ~0.6 s in-process run; a branch alone costs ~7 ms.
    The root's own output (help, unknown commands) always comes from the whole tree."""
    name = named_command(argv)
    if command.cache_info().currsize or name is None:
        return command()
    groups = [info for info in app.registered_groups if info.name == name]
    commands = [info for info in app.registered_commands
                if (info.name or typer.main.get_command_name(info.callback.__name__)) == name]  # type: ignore[union-attr]
    if len(groups) + len(commands) != 1:
        return command()
    branch = copy.copy(app)
    branch.registered_groups, branch.registered_commands = groups, commands
    return typer.main.get_command(branch)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        command_for(sys.argv[1:])(prog_name="vb")
    except KeyboardInterrupt:
        common.out.note(common.interrupted_message())
        sys.exit(ExitCode.INTERRUPTED)
    except Terminated as stop:
        common.out.note(common.interrupted_message("Terminated"))
        sys.exit(stop.code)
