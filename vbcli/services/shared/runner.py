"""Running one write command: one transaction, idempotency key, dry run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from vbcli.services.shared.idempotency import run_once
from vbcli.store.ledger import Ledger


@dataclass
class Outcome:
    result: Any
    replayed: bool = False
    dry_run: bool = False


class _DryRunDone(Exception):
    def __init__(self, result: Any) -> None:
        super().__init__("dry run")
        self.result = result


def perform(
    ledger: Ledger,
    *,
    command: str,
    request: dict[str, Any],
    key: str | None,
    dry_run: bool,
    work: Callable[[Session], Any],
) -> Outcome:
    """Run `work` in one write transaction; a dry run rolls everything back after computing it."""

    def attempt(session: Session) -> Outcome:
        session.info["vb_dry_run"] = dry_run
        result, replayed = run_once(session, command=command, key=None if dry_run else key, request=request, work=work)
        if dry_run:
            raise _DryRunDone(result)
        return Outcome(result, replayed)

    try:
        return ledger.write(attempt)
    except _DryRunDone as done:
        return Outcome(done.result, dry_run=True)
