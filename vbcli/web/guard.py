"""The outer shell of every request: the token, the body size limit, no trace in any answer.

A plain ASGI middleware, so it also covers /docs, /openapi.json, the page and unknown paths.
"""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import parse_qs

from vbcli.web.errors import error_body, internal

MAX_BODY = 64 * 1024  # bytes; the largest request vb needs is a few hundred
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class _TooLarge(Exception):
    pass


class Guard:
    """Refuse requests without the token (401) or with a body over `max_body` (413)."""

    def __init__(self, app: Any, *, token: str, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.token = token.encode("utf-8")
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.authorized(scope):
            await answer(send, 401, error_body(2, "A valid token is needed: send `Authorization: Bearer TOKEN` "
                                                  "(the token that `vb serve` printed).", name="unauthorized"),
                         [(b"www-authenticate", b"Bearer")])
            return
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await answer(send, 413, _too_large(self.max_body))
            return
        await self._run(scope, receive, send)

    async def _run(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = False
        received = 0

        async def counted_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise _TooLarge()
            return message

        async def secured_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        try:
            await self.app(scope, counted_receive, secured_send)
        except _TooLarge:
            if not started:
                await answer(send, 413, _too_large(self.max_body))
        except Exception as error:  # a bug: the answer says so without any trace
            status, body = internal(error, f"{scope.get('method')} {scope.get('path')}")
            if not started:
                await answer(send, status, body)

    def authorized(self, scope: dict[str, Any]) -> bool:
        """Bearer token in the header; for the page and the docs (GET outside /v1/) also `?token=`."""
        header = _header(scope, b"authorization") or ""
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and given:
            return hmac.compare_digest(given.strip().encode("utf-8"), self.token)
        if scope.get("method") in ("GET", "HEAD") and not scope.get("path", "").startswith("/v1/"):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            values = query.get("token", [])
            return len(values) == 1 and hmac.compare_digest(values[0].encode("utf-8"), self.token)
        return False


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _too_large(limit: int) -> dict[str, Any]:
    return error_body(2, f"The request body is larger than {limit} bytes.", name="too_large")


async def answer(send: Any, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *(headers or []), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": payload})
