"""`vb serve`: the ledger as a JSON HTTP API and a dashboard (SPEC §8.7; extra `vbcli[serve]`)."""

from __future__ import annotations

import ipaddress
import signal
import sys
from typing import Annotated

import typer

from vbcli.cli.common import handle_errors, open_ledger
from vbcli.errors import UsageError

INSTALL = 'pip install "vbcli[serve]"'


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but loopback is reachable by others.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0 = any free port).")] = 8765,
) -> None:
    """Serve the ledger as a JSON API (/v1/…, docs at /docs) and a dashboard page at /.

    Every request needs the token printed at start (kept in the data directory, or VB_TOKEN).
    SIGTERM or Ctrl-C stops the server after the requests in flight finish.

    Example: vb serve --port 8765
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise UsageError(f"vb serve needs the serve extra: {INSTALL}") from None
    from vbcli.web.app import create_app
    from vbcli.web.token import load_or_create, token_path

    token, created = load_or_create()
    if not is_loopback(host):
        print(f"vb: warning: listening on {host}: other machines can reach this ledger; only the token protects it.",
              file=sys.stderr)
    ledger = open_ledger()
    try:
        config = uvicorn.Config(create_app(ledger, token), host=host, port=port, access_log=False, log_level="warning",
                                server_header=False, timeout_graceful_shutdown=30, lifespan="off")
        server = uvicorn.Server(config)
        _announce_when_started(server, host, token, token_path() if created else None)
        for stop in (signal.SIGTERM, signal.SIGINT):  # uvicorn drains the requests in flight, then re-raises
            signal.signal(stop, lambda *_: None)  # the stop signal: it ends here, with exit 0
        server.run()
    finally:
        ledger.close()
    print("vb: server stopped.", file=sys.stderr)


def _announce_when_started(server: object, host: str, token: str, new_token_file: object) -> None:
    """Print the dashboard URL with its token once the socket listens (as Jupyter does)."""
    startup = server.startup  # type: ignore[attr-defined]

    async def announced(sockets: object = None) -> None:
        await startup(sockets=sockets)
        servers = getattr(server, "servers", [])
        bound = [sock.getsockname() for s in servers for sock in s.sockets]
        port = bound[0][1] if bound else server.config.port  # type: ignore[attr-defined]
        shown = f"[{host}]" if ":" in host else host
        if new_token_file is not None:
            print(f"vb: a new access token was written to {new_token_file}", file=sys.stderr)
        print(f"vb: serving the ledger at http://{shown}:{port}/?token={token}", file=sys.stderr, flush=True)
        print(f"vb: API docs at http://{shown}:{port}/docs?token={token}; stop with Ctrl-C or SIGTERM.", file=sys.stderr, flush=True)

    server.startup = announced  # type: ignore[attr-defined]


def register(app: typer.Typer) -> None:
    """Add `vb serve` to the root app."""
    app.command("serve")(handle_errors(serve_command))
