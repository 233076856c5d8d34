"""The resident side of the command server: import everything once, then fork one worker per
command. A worker is a fresh copy of the idle server, so no state passes between commands."""

from __future__ import annotations

import gc
import io
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any

from vbcli.cmdserver import wire

_CRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def main(argv: list[str]) -> None:
    """`python -m vbcli.cmdserver [IDLE_SECONDS]`: listen, say the pid on stdout, then serve
    detached from the starting terminal until stopped, stale or idle."""
    idle = float(argv[0]) if argv else wire.idle_seconds()
    path = Path(wire.socket_path())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.parent.stat().st_uid != os.getuid():
        sys.exit(f"vb: {path.parent} belongs to another user; the command server was not started.")
    os.chmod(path.parent, 0o700)
    try:
        server = Server(path, idle)
    except AlreadyServed as other:
        print(other.pid, flush=True)  # two clients replaced the same stale server: one new server is enough
        return
    print(os.getpid(), flush=True)
    _detach()
    server.serve()


def _detach() -> None:
    """Let go of the starter's pipe and terminal (the session is new: the starter made it so)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os.chdir("/")


def _preload() -> None:
    """Everything a command may import, so that a worker starts with it done."""
    import importlib
    import pkgutil

    import vbcli.cli

    vbcli.cli.command()  # the Click command tree, built once for every worker
    for package in ("vbcli.domain", "vbcli.render", "vbcli.services", "vbcli.store"):
        module = importlib.import_module(package)
        for found in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".migrations." not in found.name:
                importlib.import_module(found.name)
    import psycopg  # noqa: F401 - the PostgreSQL driver
    from sqlalchemy.orm import configure_mappers

    configure_mappers()  # the ORM's one-time set-up, done before the fork instead of in each worker


class AlreadyServed(Exception):
    """A current server answered on the socket while this one was starting."""

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.pid = pid


class Server:
    def __init__(self, path: Path, idle_seconds: float) -> None:
        # Taken before importing: if vb changes meanwhile, clients find this server stale and
        # replace it, rather than it serving old code under the new fingerprint.
        self.fingerprint = wire.fingerprint()
        _preload()
        from vbcli.cmdserver import control
        from vbcli.cmdserver.warmup import warm_up

        warm_up()  # before the socket exists: a client never waits for it
        gc.freeze()  # what the server holds stays out of the workers' collections: no copy-on-write of it
        running = control.ask({"ping": True})
        if running and not running.get("stale"):
            raise AlreadyServed(int(running["pid"]))
        self.path = path
        self.idle_seconds = idle_seconds
        self.started = time.time()
        self.workers: dict[int, socket.socket] = {}
        self.served = 0  # commands run since the start (`vb server status`)
        self.stopping = False
        if path.exists() or path.is_symlink():
            path.unlink()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_mask = os.umask(0o177)
        try:
            self.listener.bind(str(path))
        finally:
            os.umask(old_mask)
        self.inode = os.stat(path).st_ino
        self.listener.listen(64)
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # workers must stay waitable: their end is reported

    def serve(self) -> None:
        last = time.monotonic()
        try:
            while not self.stopping:
                readable, _, _ = select.select([self.listener], [], [], 0.2)
                self._reap()
                if readable:
                    last = time.monotonic()
                    self._accept()
                elif not self.workers and time.monotonic() - last > self.idle_seconds:
                    break
        finally:
            self._close()

    def _close(self) -> None:
        try:
            if os.stat(self.path).st_ino == self.inode:  # not a newer server's socket
                self.path.unlink()
        except OSError:
            pass
        self.listener.close()

    def _reap(self) -> None:
        """Collect ended workers; tell a client whose worker a signal ended which signal."""
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.workers.pop(pid, None)
            if conn is None:
                continue
            if os.WIFSIGNALED(status):
                try:
                    conn.sendall(wire.KILLED + bytes([os.WTERMSIG(status)]))
                except OSError:
                    pass
            conn.close()

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            _pid, uid, _gid = _CRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size))
            if uid != os.getuid():  # only the user who started the server may use it
                conn.close()
                return
            conn.settimeout(wire.HANDSHAKE_SECONDS)
            request = wire.recv_message(conn)
            if request.get("fingerprint") != self.fingerprint:
                wire.send_message(conn, {"stale": True, "pid": os.getpid()})
                self.stopping = True  # another vb is installed: let the next start bring it
            elif request.get("ping"):
                wire.send_message(conn, {"pid": os.getpid(), "started": self.started, "workers": len(self.workers),
                                         "served": self.served, "socket": str(self.path)})
            elif request.get("stop"):
                wire.send_message(conn, {"pid": os.getpid(), "stopping": True})
                self.stopping = True
            elif isinstance(request.get("argv"), list):
                self._fork_worker(conn, request)
                return
        except (OSError, ValueError, ConnectionError):
            pass
        conn.close()

    def _fork_worker(self, conn: socket.socket, request: dict[str, Any]) -> None:
        pid = os.fork()
        if pid:
            self.workers[pid] = conn  # kept to report a worker ended by a signal
            self.served += 1
            return
        code = 1
        try:
            self.listener.close()
            for other in self.workers.values():  # other clients' connections are not this worker's
                other.close()
            code = _work(conn, request)
        finally:
            os._exit(code)


def _work(conn: socket.socket, request: dict[str, Any]) -> int:
    """In the worker: become the client's process in all that a command can see, and run it."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    wire.send_message(conn, {"ready": True, "pid": os.getpid()})
    conn.settimeout(30)  # the client sends GO at once, or has gone (EOF)
    try:
        fds = wire.recv_go(conn)
    except OSError:
        fds = []
    conn.settimeout(None)
    if not fds:
        return 0  # the client gave up waiting and ran the command itself
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.umask(int(request.get("umask", 0o022)))
    _reopen_standard_streams()
    done = threading.Event()
    threading.Thread(target=_listen_to_client, args=(conn, done), daemon=True).start()
    sys.argv = ["vb", *request["argv"]]
    code = _run_command()
    done.set()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        conn.sendall(wire.exit_message(code))
    except OSError:
        pass
    return code


def _run_command() -> int:
    from vbcli.entry import run_in_process

    try:
        run_in_process()
    except SystemExit as stop:
        if stop.code is None:
            return 0
        if isinstance(stop.code, int):
            return stop.code
        print(stop.code, file=sys.stderr)
        return 1
    return 0


def _listen_to_client(conn: socket.socket, done: threading.Event) -> None:
    """Signals from the client arrive as if sent to this process; a vanished client (killed,
    terminal closed) ends the command at once, as it would have ended an in-process run."""
    while not done.is_set():
        try:
            kind = conn.recv(1)
        except OSError:
            kind = b""
        if kind == wire.SIGNAL:
            signum = conn.recv(1)
            if signum:
                os.kill(os.getpid(), signum[0])
        elif not kind:
            if not done.is_set():
                os.kill(os.getpid(), signal.SIGKILL)
            return


def _reopen_standard_streams() -> None:
    """Text streams over the client's descriptors, buffered as Python buffers them at start."""
    encoding, errors = sys.stdout.encoding, sys.stdout.errors
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding, errors=errors)
    out = io.FileIO(1, "w", closefd=False)
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.BufferedWriter(out), encoding=encoding, errors=errors,
                                                   line_buffering=out.isatty())
    err = io.FileIO(2, "w", closefd=False)
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(io.BufferedWriter(err), encoding=encoding,
                                                   errors="backslashreplace", line_buffering=True)
