"""The command server (vbcli/cmdserver): the same bytes, exit codes and effects as in-process;
signals and crashes behave as they do for a process; anything wrong with the server means
in-process, never a lost or doubled command."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import vbcli
from conftest import CLEAN_ENV, VB_EXE
from helpers import unprivileged_prefix

pytestmark = pytest.mark.slow

IDS = re.compile(r"\b(pf|pos|ord|trd|evt|div|spl|cf)_[0-9a-z]{26}\b")
TIMES = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z|\d{4}-\d\d-\d\d \d\d:\d\dZ")
OPEN = ("positions", "add", "AAPL", "--at", "2026-01-02", "--qty", "100", "--cash", "10000", "--anchor", "150")
BUY = ("trades", "add", "AAPL", "buy", "2", "--price", "150", "--commission", "1", "--key", "fill-1")


def stop_server(directory: Path) -> None:
    """Stop the server whose socket is in `directory` (if any) and remove the directory."""
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    subprocess.run([VB_EXE, "server", "stop"], env={**env, "VB_SERVER_SOCKET": str(directory / "s.sock")},
                   capture_output=True, timeout=30)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A short private directory for the socket (a Unix socket path has at most 107 bytes)."""
    directory = Path(tempfile.mkdtemp(prefix="vbs-"))
    try:
        yield directory
    finally:
        stop_server(directory)


class Runner:
    """`vb` processes with a private home, through the server at `sock` (or in-process: off=True)."""

    def __init__(self, ledger: Path, home: Path, sock: Path, program: tuple[str, ...] = (VB_EXE,)) -> None:
        self.ledger, self.home, self.sock, self.program = ledger, home, sock, program

    def env(self, off: bool = False, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
        env.update(HOME=str(self.home), VB_DATA_DIR=str(self.home / "data"), VB_SERVER_SOCKET=str(self.sock),
                   VB_SERVER_IDLE="30", COLUMNS="100")
        env.update(extra)
        if off:
            env["VB_SERVER"] = "off"
        return env

    def __call__(self, *args: str, off: bool = False, input: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.program, "--db", str(self.ledger), *args], input=input, capture_output=True, text=True,
                              env=self.env(off, **extra), cwd=self.home, timeout=60)

    def popen(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen([*self.program, "--db", str(self.ledger), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env(**extra), cwd=self.home)


def start_server(run: Runner) -> int:
    started = run("server", "start")
    assert started.returncode == 0, started.stderr
    status = run("server", "status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["running"] is True
    return json.loads(status.stdout)["pid"]


def through_server(run: Runner) -> bool:
    """A command counts itself among the server's workers only when it runs in one."""
    return json.loads(run("server", "status", "--json").stdout).get("workers") == 1


def normal(text: str, home: Path) -> str:
    """Ids, times and the home directory are the only bytes two ledgers may differ in."""
    return TIMES.sub("TIME", IDS.sub(lambda m: f"{m.group(1)}_ID", text.replace(str(home), "HOME")))


def state(run: Runner) -> tuple[str, str, int]:
    checked = run("db", "check", off=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shown = json.loads(run("positions", "show", "AAPL", "--json", off=True).stdout)
    return shown["qty"], shown["cash"], len(json.loads(run("trades", "list", "--json", off=True).stdout))


SCENARIO: list[tuple[tuple[str, ...], str | None]] = [
    (OPEN, None),
    (("evaluate", "AAPL", "--price", "140"), None),
    (BUY, None),
    (BUY, None),  # a retry with the same key: the first result again
    (("trades", "add", "AAPL", "sell", "1", "--price", "155", "--commission", "0", "--at", "2026-01-03"), None),
    (("trades", "add", "AAPL", "sell", "1000", "--price", "155"), None),  # refused: exit 5
    (("trades", "list", "--format", "csv"), None),
    (("positions", "show", "AAPL"), None),
    (("positions", "list", "--format", "table"), None),
    (("import", "trades", "-", "--dry-run"), "symbol,side,qty,price,commission,at\nAAPL,buy,1,149,0,2026-01-04\n"),
    (("import", "trades", "-"), "symbol,side,qty,price,commission,at\nAAPL,buy,1,149,0,2026-01-04\n"),
    (("export", "trades", "--format", "csv", "--out", "out.csv"), None),
    (("events", "list", "--type", "order_fill"), None),  # a typo: exit 2 with did-you-mean
    (("positions", "show", "ZZZ"), None),  # exit 3
    (("positions", "list", "--db", "x"), None),  # a root option after the command: exit 2 with a hint
    (("trades", "--help"), None),
    (("db", "check"), None),
]


def test_server_and_in_process_give_the_same_bytes_codes_and_ledger(tmp_path: Path, socket_dir: Path) -> None:
    homes = tmp_path / "a", tmp_path / "b"
    for home in homes:
        home.mkdir()
    served = Runner(homes[0] / "ledger.sqlite", homes[0], socket_dir / "s.sock")
    local = Runner(homes[1] / "ledger.sqlite", homes[1], socket_dir / "s.sock")
    start_server(served)
    assert through_server(served)
    for args, stdin in SCENARIO:
        a, b = served(*args, input=stdin), local(*args, input=stdin, off=True)
        assert (a.returncode, normal(a.stdout, homes[0]), normal(a.stderr, homes[0])) == (
            b.returncode, normal(b.stdout, homes[1]), normal(b.stderr, homes[1])), args
    assert normal((homes[0] / "out.csv").read_text(), homes[0]) == normal((homes[1] / "out.csv").read_text(), homes[1])
    # 100 shares, 10000 cash; buy 2 at 150 + 1 commission (9699.00); sell 1 at 155 back-dated (9854.00);
    # import buy 1 at 149 (9705.00): 102 shares, three trades.
    assert state(served) == state(local) == ("102", "9705.00", 3)


def test_a_terminal_sees_the_same_screen(tmp_path: Path, socket_dir: Path) -> None:
    run = Runner(tmp_path / "ledger.sqlite", tmp_path, socket_dir / "s.sock")
    assert run(*OPEN, off=True).returncode == 0
    start_server(run)

    def screen(off: bool) -> bytes:
        master, slave = pty.openpty()
        os.set_blocking(master, True)
        proc = subprocess.Popen([VB_EXE, "--db", str(run.ledger), "positions", "list"], stdin=slave, stdout=slave,
                                stderr=slave, env=run.env(off, COLUMNS="80", NO_COLOR="1"), cwd=tmp_path)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
        os.close(master)
        return b"".join(chunks)

    served, local = screen(False), screen(True)
    assert served == local and b"AAPL" in served and b"USD" in served  # the terminal's table, not the piped one


def test_ctrl_c_and_a_killed_client_write_nothing(tmp_path: Path, socket_dir: Path) -> None:
    run = Runner(tmp_path / "ledger.sqlite", tmp_path, socket_dir / "s.sock")
    assert run(*OPEN, off=True).returncode == 0
    start_server(run)
    before = state(run)

    proc = run.popen(*BUY, VB_FAULT="sleep:before_commit", VB_FAULT_SECONDS="60")
    assert proc.stderr is not None and proc.stderr.readline() == "vb: fault: sleeping at before_commit\n"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stdout, stderr) == (130, "", "vb: Interrupted; nothing was written.\n")
    assert state(run) == before

    proc = run.popen(*BUY, VB_FAULT="sleep:before_commit", VB_FAULT_SECONDS="60")
    assert proc.stderr is not None and proc.stderr.readline() == "vb: fault: sleeping at before_commit\n"
    proc.kill()  # the client dies inside the transaction: its worker must not commit
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while json.loads(run("server", "status", "--json").stdout)["workers"] > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert state(run) == before

    crashed = run(*BUY, VB_FAULT="before_commit")  # the worker is SIGKILLed: so is the client, as in-process
    assert (crashed.returncode, crashed.stdout) == (-signal.SIGKILL, "")
    assert state(run) == before
    assert run(*BUY).returncode == 0 and run(*BUY).returncode == 0  # a retry with the key converges
    # 100 + 2 shares; cash 10000 − 2·150 − 1 = 9699.00; one trade
    assert state(run) == ("102", "9699.00", 1)


def test_a_hung_server_means_in_process(tmp_path: Path, socket_dir: Path) -> None:
    run = Runner(tmp_path / "ledger.sqlite", tmp_path, socket_dir / "s.sock")
    assert run(*OPEN, off=True).returncode == 0
    pid = start_server(run)

    os.kill(pid, signal.SIGSTOP)
    try:
        done = run(*BUY)
        assert done.returncode == 0, done.stderr
        assert not through_server(run)
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(1.5)  # the woken server finds the clients gone: their commands never run there
    assert state(run) == ("102", "9699.00", 1)
    assert through_server(run)


@pytest.fixture
def private_install(tmp_path: Path) -> Path:
    """A second install of vb for one test: a venv whose vbcli is a copy of this one (its
    dependencies are the test venv's), so that "upgrading" it touches no other test's server."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    copy = tmp_path / "copy"
    shutil.copytree(Path(vbcli.__file__).parent, copy / "vbcli", ignore=shutil.ignore_patterns("__pycache__"))
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "vb-under-test.pth").write_text(f"{copy}\n{sysconfig.get_paths()['purelib']}\n")
    return venv / "bin" / "python"


def test_a_stale_server_is_replaced_and_server_stop_starts_none(tmp_path: Path, socket_dir: Path,
                                                                 private_install: Path) -> None:
    run = Runner(tmp_path / "ledger.sqlite", tmp_path, socket_dir / "s.sock", program=(str(private_install), "-m", "vbcli"))
    package = Path(subprocess.run([str(private_install), "-c", "import vbcli; print(vbcli.__file__)"],
                                  check=True, capture_output=True, text=True, cwd=tmp_path).stdout.strip())
    assert package.is_relative_to(tmp_path)
    assert run(*OPEN, off=True).returncode == 0
    pid = start_server(run)
    assert run("positions", "show", "AAPL").returncode == 0 and through_server(run)

    package.touch()  # vb was upgraded
    shown = run("positions", "show", "AAPL", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["qty"] == "100"  # answered in-process
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the stale server did not exit")
    # The client that found it stale started the upgraded vb's server in its place.
    while time.monotonic() < deadline:
        status = run("server", "status", "--json")
        if status.returncode == 0:
            break
        time.sleep(0.5)
    assert status.returncode == 0, "no new server replaced the stale one"
    assert json.loads(status.stdout)["pid"] != pid
    assert run("positions", "show", "AAPL").returncode == 0 and through_server(run)

    # `vb server stop` sent to a stale server stops it and starts none in its place.
    package.touch()
    assert run("server", "stop").returncode == 0
    quiet_until = time.monotonic() + 8  # a replacement would be up within a few seconds
    while time.monotonic() < quiet_until:
        assert run("server", "status").returncode == 3, "a server runs after `vb server stop`"
        time.sleep(0.5)


def test_another_users_server_is_never_used(tmp_path: Path) -> None:
    prefix = unprivileged_prefix()
    directory = Path(tempfile.mkdtemp(prefix="vbs-"))
    try:
        run = Runner(tmp_path / "ledger.sqlite", tmp_path, directory / "s.sock")
        start_server(run)
        directory.chmod(0o755)  # opened up after the start (which makes it private), so that
        (directory / "s.sock").chmod(0o777)  # the server's own check of the peer is what refuses
        env = {**run.env(), "HOME": str(directory), "VB_DATA_DIR": str(directory / "data")}
        status = subprocess.run([*prefix, VB_EXE, "server", "status", "--json"], capture_output=True, text=True,
                                env=env, timeout=60, cwd=directory)
        assert status.returncode == 3 and json.loads(status.stdout)["running"] is False  # not another user's socket
        probe = ("import socket, struct, sys\ns = socket.socket(socket.AF_UNIX)\ns.settimeout(5)\ns.connect(sys.argv[1])\n"
                 "d = b'{\"ping\": true}'\ntry:\n    s.sendall(struct.pack('!I', len(d)) + d)\n    got = s.recv(100)\n"
                 "except OSError:\n    got = b''\nprint(repr(got))")
        answer = subprocess.run([*prefix, VB_EXE.replace("/vb", "/python"), "-c", probe, str(directory / "s.sock")],
                                capture_output=True, text=True, timeout=60)
        assert answer.stdout.strip() == "b''", answer.stdout + answer.stderr  # the server hung up without a word
    finally:
        stop_server(directory)


def test_the_warm_up_touches_no_ledger_of_the_user_and_leaves_nothing(tmp_path: Path, socket_dir: Path) -> None:
    """The server runs everyday commands once before serving (vbcli/cmdserver/warmup.py): on a
    scratch ledger only, whatever SQL_URL and VB_DATA_DIR say, and gone afterwards."""
    run = Runner(tmp_path / "ledger.sqlite", tmp_path, socket_dir / "s.sock")
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir()
    users = tmp_path / "users-ledger.sqlite"
    started = run("server", "start", SQL_URL=f"sqlite:///{users}", TMPDIR=str(scratch_parent))
    assert started.returncode == 0, started.stderr
    assert not users.exists() and not (tmp_path / "data").exists() and not run.ledger.exists()
    assert list(scratch_parent.iterdir()) == []
    # The first command through the warmed server opens a ledger of its own: its ids start afresh.
    opened = run(*OPEN, "--format", "json")
    assert opened.returncode == 0 and through_server(run), opened.stderr
    assert json.loads(opened.stdout)["symbol"] == "AAPL"
    assert json.loads(run("trades", "list", "--format", "json").stdout) == []  # nothing of the warm-up


def test_warm_up_runs_every_command_and_restores_the_process(tmp_path: Path) -> None:
    script = """
import os, sys
from vbcli.cmdserver import warmup
from vbcli.domain import ids
before = (dict(os.environ), os.getcwd(), list(sys.argv), sys.stdout)
succeeded = warmup.warm_up()
assert succeeded == len(warmup.COMMANDS), succeeded
assert (dict(os.environ), os.getcwd(), list(sys.argv), sys.stdout) == before
assert ids._last == (0, 0)
from vbcli.store import transaction
assert transaction.committed_writes == 0
from vbcli.cli import common
assert common.State.db is None
print("ok")
"""
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update(HOME=str(tmp_path), VB_DATA_DIR=str(tmp_path / "data"), SQL_URL=f"sqlite:///{tmp_path / 'user.sqlite'}")
    done = subprocess.run([str(Path(VB_EXE).parent / "python"), "-c", script], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")
    assert not (tmp_path / "user.sqlite").exists() and not (tmp_path / "data").exists()
