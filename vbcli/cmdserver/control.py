"""Start, ask and stop the command server from outside it (the `vb server` commands, and a
client that found it stale). Never imports the server itself, which imports all of vb."""

from __future__ import annotations

import select
import socket
import subprocess
import sys
from typing import Any

from vbcli.cmdserver import wire

START_SECONDS = 60  # importing everything on a loaded machine


def ask(message: dict[str, Any]) -> dict[str, Any] | None:
    """Send a control message (ping, stop) to the running server; None when none answers."""
    path = wire.socket_path()
    if not wire.private_socket(path):
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(wire.HANDSHAKE_SECONDS * 2)
        conn.connect(str(path))
        wire.send_message(conn, {**message, "fingerprint": wire.fingerprint()})
        return wire.recv_message(conn)
    except (OSError, ValueError, ConnectionError):
        return None
    finally:
        conn.close()


def spawn(idle_seconds: float, *, unattended: bool = False) -> subprocess.Popen[bytes]:
    """A detached server process (its own session, so the terminal's Ctrl-C never reaches it).

    `unattended`: nobody waits for its pid (a client replacing a stale server and exiting at
    once), so it must not write to a pipe whose reader is gone.
    """
    output = subprocess.DEVNULL if unattended else subprocess.PIPE
    return subprocess.Popen([sys.executable, "-m", "vbcli.cmdserver", str(idle_seconds)], stdin=subprocess.DEVNULL,
                            stdout=output, stderr=output, start_new_session=True)


def start(idle_seconds: float) -> int:
    """Start a server unless one runs; return its pid. Raises RuntimeError with the reason."""
    running = ask({"ping": True})
    if running and not running.get("stale"):
        return int(running["pid"])
    if running:
        ask({"stop": True})
    process = spawn(idle_seconds)
    assert process.stdout is not None and process.stderr is not None
    ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
    line = process.stdout.readline().strip() if ready else b""
    if not line.isdigit():
        process.kill()
        reason = process.stderr.read().decode(errors="replace").strip().splitlines()
        raise RuntimeError(reason[-1] if reason else "the command server did not start")
    return int(line)
