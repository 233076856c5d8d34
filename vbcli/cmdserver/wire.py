"""What client and server share: where the socket lives, the installed program's fingerprint,
and the framing of messages.

Every `vb` run imports this and the client, so both import only what the interpreter has
built in or already loaded at start (`_socket`, `_signal`, `marshal`, `struct`, `zlib`):
`socket`, `signal`, `json` and `typing` would cost more than the rest of the client. Messages
are marshalled dicts of plain values; the server reads one only from a peer of its own uid,
and a client only from a socket in a directory no other user can enter (private_socket).
"""

from __future__ import annotations

import _socket
import marshal
import os
import struct
import sys
import zlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads the name)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

HANDSHAKE_SECONDS = 1.0  # a server that has not answered by then is dead or hung: run in-process
IDLE_SECONDS = 900  # a server with no command for this long exits (VB_SERVER_IDLE overrides)


def idle_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get("VB_SERVER_IDLE", IDLE_SECONDS)))
    except ValueError:
        return float(IDLE_SECONDS)

# One-byte message kinds after the handshake.
GO = b"G"  # client → worker: run the command; carries the client's fds 0, 1, 2 (SCM_RIGHTS)
SIGNAL = b"S"  # client → worker: + one byte, a signal the client received (Ctrl-C, SIGTERM, SIGHUP)
EXITED = b"X"  # worker/server → client: + int32, the command's exit code
KILLED = b"K"  # server → client: + one byte, the signal that ended the worker

_LENGTH = struct.Struct("!I")
MAX_REQUEST = 4 * 1024 * 1024


def socket_path() -> str:
    """The per-user socket: VB_SERVER_SOCKET, else $XDG_RUNTIME_DIR/vb/server.sock, else a
    private directory of the user's own under the temporary directory. A string: pathlib is
    an import every `vb` run would pay."""
    override = os.environ.get("VB_SERVER_SOCKET")
    if override:
        return override
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = os.path.join(runtime, "vb") if runtime else os.path.join(os.environ.get("TMPDIR") or "/tmp", f"vb-{os.getuid()}")
    return os.path.join(base, "server.sock")


def private_socket(path: str | Path) -> bool:
    """The socket and its directory belong to this user and nobody else can enter the directory."""
    try:
        directory, sock = os.stat(os.path.dirname(path)), os.lstat(path)
    except OSError:
        return False
    uid = os.getuid()
    return directory.st_uid == uid and sock.st_uid == uid and directory.st_mode & 0o077 == 0


def fingerprint() -> str:
    """Which vb is installed: the interpreter and every module file's size and time. A server
    whose fingerprint differs from its client's was started by another version: it is stale."""
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    parts = [f"{sys.executable}\0{sys.version}\0{package}"]
    for folder, dirs, files in sorted(os.walk(package)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(folder, name))
                parts.append(f"{folder}/{name}\0{info.st_size}\0{info.st_mtime_ns}")
    # Change detection, not security (the socket is private): two checksums, no hashlib import.
    text = "\0".join(parts).encode()
    return f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}{len(text):x}"


def send_message(conn: _socket.socket, value: dict[str, Any]) -> None:
    """One framed message: a dict of str, int, float, bool, None, lists and dicts of those."""
    data = marshal.dumps(value)
    conn.sendall(_LENGTH.pack(len(data)) + data)


def send_go(conn: _socket.socket) -> None:
    """GO with the standard descriptors. Sent only once a worker answered, so that no
    descriptor of the caller's (a pipe it reads to the end) is ever left with a hung server."""
    conn.sendmsg([GO], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("3i", 0, 1, 2))])


def recv_go(conn: _socket.socket) -> list[int]:
    """The client's descriptors if it said GO with all three; else [] (it is gone)."""
    data, ancillary, _flags, _addr = conn.recvmsg(1, _socket.CMSG_SPACE(3 * struct.calcsize("i")))
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % struct.calcsize("i")
            fds += list(struct.unpack(f"{usable // struct.calcsize('i')}i", payload[:usable]))
    if data == GO and len(fds) == 3:
        return fds
    for fd in fds:
        os.close(fd)
    return []


def recv_exact(conn: _socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = conn.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        chunks += chunk
    return bytes(chunks)


def recv_message(conn: _socket.socket) -> dict[str, Any]:
    """One framed message; ValueError when it is not a dict of plain values."""
    (length,) = _LENGTH.unpack(recv_exact(conn, _LENGTH.size))
    if length > MAX_REQUEST:
        raise ValueError("message too large")
    try:
        value = marshal.loads(recv_exact(conn, length))
    except (EOFError, TypeError) as exc:
        raise ValueError("not a message") from exc
    if not isinstance(value, dict):
        raise ValueError("not a message")
    return value


def exit_message(code: int) -> bytes:
    return EXITED + struct.pack("!i", code)
