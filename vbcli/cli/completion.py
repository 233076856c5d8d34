"""`vb completion bash|zsh|fish`: print the shell completion script (also in completions/)."""

from __future__ import annotations

from typing import Annotated

import typer

from vbcli import render as out
from vbcli.cli.common import handle_errors
from vbcli.errors import UsageError

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_VB_COMPLETE"


def script(shell: str) -> str:
    """The completion script for `shell`, exactly as shipped in completions/."""
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name="vb", complete_var=COMPLETE_VAR, shell=shell)


@handle_errors
def completion(shell: Annotated[str, typer.Argument(help="bash, zsh or fish.", show_default=False)]) -> None:
    """Print the completion script for a shell; install it as the README says.

    Example: vb completion bash > ~/.local/share/bash-completion/completions/vb
    """
    chosen = shell.strip().lower()
    if chosen not in SHELLS:
        raise UsageError(f"The shell must be one of {', '.join(SHELLS)}, not {shell[:20]!r}.")
    text = script(chosen)
    out.line(text.removesuffix("\n"))  # exactly one final newline, as the shipped files have


def register(app: typer.Typer) -> None:
    """Add `vb completion` and answer the shells' `_VB_COMPLETE` requests (the root app has
    add_completion=False, so Typer's completion classes are registered here)."""
    from typer._completion_classes import completion_init

    completion_init()
    app.command("completion")(completion)
