"""vb serve benchmarks: concurrent keyed fills, and a read on a 100 000-fill ledger.

    .venv/bin/python bench/serve.py           # standalone
    (bench/run.py runs it too; skipped when the serve extra is not installed)

1. 8 clients post fills with Idempotency-Key to one position at once: every fill must be
   stored exactly once (then every key is posted again and must replay); p50/p99 latency.
2. GET /v1/positions/{pos}/trades?limit=20 on a 100 000-fill ledger, against an empty
   handler behind the same middleware (token guard) on the same uvicorn, in the same run.
   Target: ≤ 25 ms median.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

BIN = Path(sys.executable).parent
VB = str(BIN / "vb")
TOKEN = "bench-token-0123456789abcdef"
CLIENTS, FILLS_EACH, READS = 8, 25, 300
EMPTY_APP = """
import sys, uvicorn
from fastapi import FastAPI
from vbcli.web.guard import Guard
app = FastAPI()
@app.get("/v1/empty")
def empty() -> dict:
    return {}
app.add_middleware(Guard, token=sys.argv[1])
config = uvicorn.Config(app, host="127.0.0.1", port=0, access_log=False, log_level="warning")
server = uvicorn.Server(config)
startup = server.startup
async def announced(sockets=None):
    await startup(sockets=sockets)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"vb: serving the ledger at http://127.0.0.1:{port}/?token=", file=sys.stderr, flush=True)
server.startup = announced
server.run()
"""


def available() -> bool:
    return all(importlib.util.find_spec(name) for name in ("fastapi", "uvicorn", "httpx"))


class Served:
    """A server process; its URL is read from the line it prints when it listens."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, env={**os.environ, **env, "VB_TOKEN": TOKEN}, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.proc.stderr], daemon=True).start()  # type: ignore[union-attr]
        deadline, self.url = time.monotonic() + 60, ""
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if "serving the ledger at " in line:
                self.url = line.split("serving the ledger at ", 1)[1].split("/?token=", 1)[0]
                return
        self.stop()
        raise SystemExit(f"server did not start: {argv}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


def client(url: str) -> Any:
    import httpx

    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def concurrent_fills(work: Path, env: dict[str, str]) -> str:
    """8 clients × 25 keyed fills to one position; every key posted twice; latency of the first posts."""
    server = Served([VB, "--db", str(work / "serve-fills.sqlite"), "serve", "--port", "0"], env)
    try:
        with client(server.url) as http:
            http.post("/v1/positions", json={"symbol": "ACME", "cash": "10000000"}).raise_for_status()
        latencies: list[float] = []
        failures: list[str] = []

        def one_client(c: int) -> None:
            with client(server.url) as http:
                for rounds in range(2):  # the second round replays every key
                    for n in range(FILLS_EACH):
                        body = {"side": "buy", "qty": "1", "price": f"{100 + n}.25", "commission": "0"}
                        started = time.perf_counter()
                        answer = http.post("/v1/positions/ACME/trades", json=body, headers={"Idempotency-Key": f"b-{c}-{n}"})
                        if rounds == 0:
                            latencies.append(time.perf_counter() - started)
                        if answer.status_code != 201:
                            failures.append(answer.text[:200])

        threads = [threading.Thread(target=one_client, args=(c,)) for c in range(CLIENTS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        with client(server.url) as http:
            stored = len(http.get("/v1/trades").json())
            qty = http.get("/v1/positions/ACME").json()["qty"]
    finally:
        server.stop()
    expected = CLIENTS * FILLS_EACH
    verdict = "nothing lost" if stored == expected and qty == str(expected) and not failures else "LOST OR FAILED"
    return (f"{stored}/{expected} stored once, qty {qty} ({verdict}); p50 {percentile(latencies, .5) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, .99) * 1000:.1f} ms; {2 * expected / elapsed:.0f} requests/s with replays")


def timed_reads(url: str, path: str) -> list[float]:
    with client(url) as http:
        for _ in range(20):
            http.get(path).raise_for_status()
        times = []
        for _ in range(READS):
            started = time.perf_counter()
            http.get(path).raise_for_status()
            times.append(time.perf_counter() - started)
    return times


def read_on_big_ledger(work: Path, env: dict[str, str], n: int = 100_000) -> tuple[float, float]:
    """(median of the trades read, median of the empty handler), seconds."""
    from build_ledger import build

    db = work / "serve-read.sqlite"
    build(db, n, VB)
    server = Served([VB, "--db", str(db), "serve", "--port", "0"], env)
    empty = Served([sys.executable, "-c", EMPTY_APP, TOKEN], env)
    try:
        with client(server.url) as http:
            rows = http.get("/v1/positions/S05/trades", params={"limit": 20}).json()
            assert len(rows) == 20, rows
        reads = timed_reads(server.url, "/v1/positions/S05/trades?limit=20")
        baseline = timed_reads(empty.url, "/v1/empty")
    finally:
        server.stop()
        empty.stop()
        db.unlink(missing_ok=True)
    return statistics.median(reads), statistics.median(baseline)


def serve_bench(report: Any, work: Path, env: dict[str, str]) -> None:
    """The serve lines of bench/run.py's report (skipped without the extra)."""
    if not available():
        report.note("vb serve", "skipped: the serve extra is not installed (pip install -e '.[serve]')")
        return
    report.note(f"vb serve: {CLIENTS} clients × {FILLS_EACH} keyed fills, one position", concurrent_fills(work, env))
    read, base = read_on_big_ledger(work, env)
    verdict = "met" if read <= 0.025 else "MISSED"
    report.note("vb serve: GET /v1/positions/S05/trades?limit=20 @ 100,000",
                f"{read * 1000:.2f} ms median vs empty handler {base * 1000:.2f} ms ({read / base:.2f}×); "
                f"target ≤ 25 ms: {verdict}")


class _Print:
    def note(self, what: str, value: str) -> None:
        print(f"{what:55s} {value}", flush=True)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="vb-bench-serve-") as tmp:
        serve_bench(_Print(), Path(tmp), {"VB_DATA_DIR": str(Path(tmp) / "data")})
