"""The error family: each class carries its exit code (SPEC §6) and one user sentence."""

from __future__ import annotations

from typing import Any


class VbError(Exception):
    """Base of every error shown to the user as one sentence."""

    exit_code = 1

    def __init__(self, message: str, *, commit: bool = False, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # A refusal that must still keep what the transaction recorded (e.g. order_rejected).
        self.commit = commit
        self.details = details or []


class UsageError(VbError):
    exit_code = 2


class NotFound(VbError):
    exit_code = 3


class Conflict(VbError):
    exit_code = 4


class Refused(VbError):
    exit_code = 5


class DatabaseUnavailable(VbError):
    exit_code = 6


class BadInputData(VbError):
    """Problems in a file or stdin; `details` holds one `FILE:LINE: message` per problem."""

    exit_code = 7


class Interrupted(VbError):
    exit_code = 130


def problem(source: str, line: int | str, message: str) -> str:
    """Format one bad-input problem as `FILE:LINE: message`."""
    return f"{source}:{line}: {message}"


