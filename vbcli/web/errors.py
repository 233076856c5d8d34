"""Errors as JSON: the error family's exit codes mapped to HTTP statuses (SPEC §8.7).

Exit 7 (bad input data) becomes 400: over HTTP the data is the request itself, which the
client must correct, as with a usage error; its `details` travel in the answer.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from vbcli.errors import VbError

# exit code → (HTTP status, error name)
STATUS: dict[int, tuple[int, str]] = {
    1: (500, "internal"),
    2: (400, "usage"),
    3: (404, "not_found"),
    4: (409, "conflict"),
    5: (422, "refused"),
    6: (503, "database_unavailable"),
    7: (400, "bad_input"),
    130: (503, "interrupted"),
}


def error_body(exit_code: int, message: str, details: list[str] | None = None, *, name: str | None = None) -> dict[str, Any]:
    """The JSON of an error: {"error": NAME, "message": …, "exit_code": N} (+ details)."""
    body: dict[str, Any] = {"error": name or STATUS.get(int(exit_code), STATUS[1])[1], "message": message,
                            "exit_code": int(exit_code)}
    if details:
        body["details"] = details
    return body


def status_of(exit_code: int) -> int:
    return STATUS.get(int(exit_code), STATUS[1])[0]


def from_vb_error(error: VbError) -> tuple[int, dict[str, Any]]:
    return status_of(error.exit_code), error_body(error.exit_code, error.message, error.details)


def internal(error: BaseException, where: str) -> tuple[int, dict[str, Any]]:
    """A bug: one line on the server's stderr (the traceback only with VB_DEBUG=1), none in the answer."""
    print(f"vb serve: internal error ({type(error).__name__}) on {where}; set VB_DEBUG=1 to see the traceback.",
          file=sys.stderr)
    if os.environ.get("VB_DEBUG") == "1":
        traceback.print_exception(error)
    return 500, error_body(1, f"Internal error ({type(error).__name__}); the server's log has the details.")
