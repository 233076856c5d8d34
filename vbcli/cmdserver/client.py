"""The entry point's side of the command server: hand the command over, relay signals, return
its exit code; None whenever the command should run in-process instead."""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal, socket, typing: costlier than the rest (see wire)
import _socket
import os
import struct
import sys

from vbcli.cmdserver import wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT)


def run(argv: list[str]) -> int | None:
    """Run `vb ARGV` in the server's worker, or return None to run it here (no server, another
    user's socket, a stale or unresponsive server, VB_SERVER=off). Nothing has run when None."""
    if os.environ.get("VB_SERVER", "").strip().lower() == "off":
        return None
    path = wire.socket_path()
    if not wire.private_socket(path):
        return None
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        conn.settimeout(wire.HANDSHAKE_SECONDS)
        conn.connect(path)
        request = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "umask": _umask(),
                   "fingerprint": wire.fingerprint()}
        wire.send_message(conn, request)
        answer = wire.recv_message(conn)
    except (OSError, ValueError, ConnectionError):
        conn.close()
        return None  # not reachable, or no answer in time: the worker (if any) never gets GO
    if answer.get("stale"):
        conn.close()
        from vbcli.argv import named_command  # only here: every other run goes without it

        if named_command(argv) != "server":  # `vb server stop` must not leave a new one running
            _start_fresh_server()
        return None
    if not answer.get("ready"):
        conn.close()
        return None
    try:
        wire.send_go(conn)  # fails when a standard descriptor is closed: then in-process, as nothing ran
    except OSError:
        conn.close()
        return None
    return _relay(conn)


def _relay(conn: _socket.socket) -> int:
    """Forward signals to the worker and wait for its end."""
    def forward(signum: int, _frame: Any) -> None:
        try:
            conn.sendall(wire.SIGNAL + bytes([signum]))
        except OSError:
            pass

    previous = {signum: _signal.signal(signum, forward) for signum in FORWARDED}
    try:
        conn.settimeout(None)
        kind = wire.recv_exact(conn, 1)
        if kind == wire.EXITED:
            return struct.unpack("!i", wire.recv_exact(conn, 4))[0]
        if kind == wire.KILLED:
            ended_by = wire.recv_exact(conn, 1)[0]
            for signum, handler in previous.items():
                _signal.signal(signum, handler)
            if ended_by not in (_signal.SIGKILL, _signal.SIGSTOP):  # those two cannot be caught anyway
                _signal.signal(ended_by, _signal.SIG_DFL)
            os.kill(os.getpid(), ended_by)  # end as the in-process run would have: by that signal
            return 128 + ended_by
    except (OSError, ConnectionError, struct.error):
        pass
    finally:
        conn.close()
    print("vb: The command server stopped during the command; run `vb db check` to see what was written.", file=sys.stderr)
    return 6


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _start_fresh_server() -> None:
    """The installed vb changed since the server started (it is exiting): start a new one."""
    from vbcli.cmdserver import control

    try:
        control.spawn(wire.idle_seconds(), unattended=True)
    except OSError:
        pass
