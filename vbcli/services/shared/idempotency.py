"""`--key`: the same request returns its first result; another request under the key conflicts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from vbcli.domain.timeparse import utcnow
from vbcli.errors import Conflict
from vbcli.domain.jsonvalue import json_value
from vbcli.services.shared.audit import dumps
from vbcli.store.tables import IdempotencyKey


def request_hash(command: str, request: dict[str, Any]) -> str:
    return hashlib.sha256(dumps({"command": command, "request": request}).encode("utf-8")).hexdigest()


def run_once(
    session: Session,
    *,
    command: str,
    key: str | None,
    request: dict[str, Any],
    work: Callable[[Session], Any],
) -> tuple[Any, bool]:
    """Run `work` unless `key` was seen; return (result, replayed).

    The caller holds the write lock, so two processes with the same key cannot both run.
    """
    if not key:
        return work(session), False
    digest = request_hash(command, request)
    seen = session.get(IdempotencyKey, key)
    if seen is not None:
        if seen.command != command or seen.request_hash != digest:
            raise Conflict(f"The key {key!r} was already used for a different request ({seen.command}); use a new key.")
        return json.loads(seen.result), True
    result = work(session)
    session.add(
        IdempotencyKey(
            key=key,
            command=command,
            request_hash=digest,
            result=json.dumps(json_value(result), ensure_ascii=False),
            created_at=utcnow(),
        )
    )
    return result, False
