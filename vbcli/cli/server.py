"""`vb server start|stop|status`: the resident command server that makes commands instant."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vbcli import render as out
from vbcli.cli.common import FormatOpt, JsonOpt, handle_errors, output_format, show
from vbcli.errors import ExitCode

app = typer.Typer(help="The command server: commands without a second of start-up each.\n\nExample: vb server start",
                  no_args_is_help=True)


def _status_row(answer: dict[str, Any] | None) -> dict[str, Any]:
    from vbcli.cmdserver import wire

    running = bool(answer) and not answer.get("stale")
    return {"running": running, "pid": answer.get("pid") if answer else None,
            "workers": answer.get("workers") if running else None, "socket": str(wire.socket_path()),
            "served": answer.get("served") if running else None}


@app.command("start")
@handle_errors
def start(
    idle: Annotated[int | None, typer.Option("--idle", min=1, metavar="SECONDS",
                                             help="Exit after this long without a command (default 900, env VB_SERVER_IDLE).",
                                             show_default=False)] = None,
) -> None:
    """Start the command server in the background (nothing happens if one runs already).

    Every later `vb` command of this user runs in a worker forked from it, with the same output,
    exit codes and effects; VB_SERVER=off runs a command in-process instead.

    Example: vb server start
    """
    from vbcli.cmdserver import control, wire
    from vbcli.errors import VbError

    try:
        pid = control.start(idle if idle is not None else wire.idle_seconds())
    except RuntimeError as error:
        raise VbError(f"The command server did not start: {error}") from None
    out.note(f"command server running (pid {pid}) at {wire.socket_path()}; stop it with `vb server stop`.")


@app.command("stop")
@handle_errors
def stop() -> None:
    """Stop the command server (commands in flight finish first).

    Example: vb server stop
    """
    from vbcli.cmdserver import control

    answer = control.ask({"stop": True})
    out.note("command server stopped." if answer else "no command server was running.")


@app.command("status")
@handle_errors
def status(format: FormatOpt = None, as_json: JsonOpt = False) -> None:
    """Whether the command server runs, its pid, its socket and the commands in flight.

    Exit code 0 when it runs, 3 when it does not.

    Example: vb server status --json
    """
    from vbcli.cmdserver import control

    fmt = output_format(format, as_json)
    row = _status_row(control.ask({"ping": True}))
    show(row, fmt)
    if not row["running"]:
        raise typer.Exit(ExitCode.NOT_FOUND)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="server")
