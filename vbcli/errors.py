"""The error family: each class carries its exit code (SPEC §6) and one user sentence."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit status vb uses (SPEC §6), and the only place each number is written."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    CONFLICT = 4
    REFUSED = 5
    DATABASE_UNAVAILABLE = 6
    BAD_INPUT = 7
    INTERRUPTED = 130


class VbError(Exception):
    """Base of every error shown to the user as one sentence."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, message: str, *, commit: bool = False, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # A refusal that must still keep what the transaction recorded (e.g. order_rejected).
        self.commit = commit
        self.details = details or []


class UsageError(VbError):
    exit_code = ExitCode.USAGE


class NotFound(VbError):
    exit_code = ExitCode.NOT_FOUND


class Conflict(VbError):
    exit_code = ExitCode.CONFLICT


class Refused(VbError):
    exit_code = ExitCode.REFUSED


class DatabaseUnavailable(VbError):
    exit_code = ExitCode.DATABASE_UNAVAILABLE


class BadInputData(VbError):
    """Problems in a file or stdin; `details` holds one `FILE:LINE: message` per problem."""

    exit_code = ExitCode.BAD_INPUT


def problem(source: str, line: int | str, message: str) -> str:
    """Format one bad-input problem as `FILE:LINE: message`."""
    return f"{source}:{line}: {message}"


