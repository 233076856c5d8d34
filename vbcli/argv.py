"""Reading `vb`'s own argv before Typer does: standard library only, since the client and the
in-process run both call it before anything heavy is imported."""

from __future__ import annotations

ROOT_VALUE_OPTIONS = ("--db",)


def named_command(argv: list[str]) -> str | None:
    """The command word of `vb [--db LEDGER] COMMAND …`, or None when argv asks the root itself
    (no command, --help, --version, an option vb does not have)."""
    words = iter(argv)
    for word in words:
        if word in ROOT_VALUE_OPTIONS:
            next(words, None)
        elif not any(word.startswith(f"{option}=") for option in ROOT_VALUE_OPTIONS):
            return None if word.startswith("-") else word
    return None
