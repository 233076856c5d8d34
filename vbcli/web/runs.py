"""Running a service call for a request: one read or write transaction, JSON out.

Writes go through the CLI's runner (`perform`), so transactions, idempotency keys and dry
runs are those of `vb`; answers go through `render.json_value`, the conversion behind
`--format json`, so they have the CLI's JSON shapes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from vbcli.render import json_value
from vbcli.store.ledger import Ledger

REPLAYED = "Idempotent-Replayed"


class Serving:
    """What the app serves: the ledger, opened once for the server's life."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        # An in-memory ledger is one shared connection: let one request at a time use it.
        self.lock = threading.Lock() if ledger.location.source == "memory" else nullcontext()
        # Writers of this process queue here rather than in SQLite's busy wait, which sleeps in
        # growing steps and made p99 ten times p50; other processes still meet at the ledger's lock.
        self.write_lock = threading.Lock()


def serving(request: Request) -> Serving:
    return request.app.state.serving  # type: ignore[no-any-return]


def json_answer(result: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(json_value(result), status_code=status, headers=headers)


def read(request: Request, work: Callable[[Session], Any]) -> JSONResponse:
    """Run `work` in one read transaction and answer its result as JSON."""
    state = serving(request)
    with state.lock, state.ledger.read() as session:
        result = work(session)
    return json_answer(result)


def write(request: Request, command: str, values: dict[str, Any], key: str | None, dry_run: bool,
          work: Callable[[Session], Any], *, status: int = 201) -> JSONResponse:
    """Run `work` as the CLI's `write` does; a replay answers the first result with `Idempotent-Replayed: true`."""
    from vbcli.services.shared.runner import perform

    state = serving(request)
    with state.write_lock, state.lock:
        outcome = perform(state.ledger, command=command, request=values, key=key, dry_run=dry_run, work=work)
    headers = {REPLAYED: "true" if outcome.replayed else "false"}
    if outcome.dry_run:
        headers["Vb-Dry-Run"] = "true"
    return json_answer(outcome.result, 200 if outcome.dry_run else status, headers)
