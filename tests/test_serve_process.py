"""A real `vb serve` process (uvicorn) on 127.0.0.1 and a free port: concurrent writers from
HTTP and the CLI on one ledger, SIGTERM, and the dashboard in a real headless Chromium."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the serve extra (vbcli[serve]) is not installed")
httpx = pytest.importorskip("httpx")

from conftest import CLEAN_ENV, VB_EXE, make_process_runner  # noqa: E402

TOKEN = "process-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
pytestmark = pytest.mark.slow


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str
    stderr: list[str] = field(default_factory=list)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=AUTH, timeout=60)

    def stop(self) -> int:
        """SIGTERM, then the exit code (the requests in flight finish first)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def start_server(db_url: str, home: Path, env: dict[str, str] | None = None) -> Server:
    """Start `vb --db URL serve --port 0` and wait for the line that names its URL."""
    full_env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    full_env.update({"HOME": str(home), "VB_DATA_DIR": str(home / "data"), "VB_TOKEN": TOKEN, **(env or {})})
    proc = subprocess.Popen([VB_EXE, "--db", db_url, "serve", "--host", "127.0.0.1", "--port", "0"], env=full_env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    server = Server(proc, "")

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            server.stderr.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        if "serving the ledger at " in line:
            server.url = line.split("serving the ledger at ", 1)[1].split("/?token=", 1)[0]
            return server
    server.stop()
    raise AssertionError("vb serve did not start: " + "".join(server.stderr))


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Server]:
    server = start_server(db_url, tmp_path)
    try:
        yield server
    finally:
        code = server.stop()
        assert code == 0, "".join(server.stderr)
        assert "server stopped" in "".join(server.stderr)
        assert "Traceback" not in "".join(server.stderr)


def test_http_and_cli_writers_at_once_lose_nothing(served: Server, db_url: str, tmp_path: Path) -> None:
    vb = make_process_runner(db_url, tmp_path)
    with served.client() as client:
        made = client.post("/v1/positions", json={"symbol": "ACME", "cash": "100000"})
        assert made.status_code == 201, made.text

        def http_fill(n: int) -> int:
            body = {"side": "buy", "qty": "1", "price": "100", "commission": "0"}
            with served.client() as own:
                return own.post("/v1/positions/ACME/trades", json=body, headers={"Idempotency-Key": f"h-{n}"}).status_code

        def cli_fill(n: int) -> int:
            return vb("trades", "add", "ACME", "buy", "1", "--price", "100", "--commission", "0", "--key", f"c-{n}").exit_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            http = [pool.submit(http_fill, n) for n in range(12)]
            cli = [pool.submit(cli_fill, n) for n in range(4)]
            codes = [f.result() for f in http], [f.result() for f in cli]
        assert codes == ([201] * 12, [0] * 4)
        # 16 buys of 1 at 100, no commission: 16 shares, 100000 − 1600 = 98400 cash
        position = client.get("/v1/positions/ACME").json()
        assert (position["qty"], position["cash"]) == ("16", "98400.00")
        assert len(client.get("/v1/trades").json()) == 16
    check = vb("db", "check")
    assert check.exit_code == 0, check.stdout + check.stderr


def test_sigterm_lets_the_request_in_flight_finish(served: Server, db_url: str, tmp_path: Path) -> None:
    with served.client() as client:
        client.post("/v1/positions", json={"symbol": "ACME", "cash": "100000"})
        answers: list[int] = []

        def many() -> None:
            with served.client() as own:
                for n in range(40):
                    try:
                        answers.append(own.post("/v1/positions/ACME/trades", headers={"Idempotency-Key": f"t-{n}"},
                                                json={"side": "buy", "qty": "1", "price": "10", "commission": "0"}).status_code)
                    except httpx.TransportError:
                        return  # the server has stopped listening

        worker = threading.Thread(target=many)
        worker.start()
        time.sleep(0.5)
        assert served.stop() == 0
        worker.join(timeout=60)
    assert answers and set(answers) == {201}
    # every answered fill is in the ledger, and nothing beyond them
    vb = make_process_runner(db_url, tmp_path)
    listed = vb("trades", "list", "--format", "json")
    assert len(json.loads(listed.stdout)) in (len(answers), len(answers) + 1)  # one may land as the reply is lost


def _chromium() -> object:
    """A headless Chromium through Debian's chromedriver, or skip with the reason."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    driver_path, browser = shutil.which("chromedriver") or "/usr/bin/chromedriver", "/usr/bin/chromium"
    if not (os.path.exists(driver_path) and os.path.exists(browser)):
        pytest.skip("no chromium/chromedriver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    try:
        return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    except Exception as exc:  # noqa: BLE001 - any failure to start means: skip, and say why
        pytest.skip(f"headless Chromium could not start: {str(exc).strip().splitlines()[0]}")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dashboard_in_a_real_browser(served: Server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with served.client() as client:
        client.post("/v1/positions", json={"symbol": "AAPL", "qty": "100", "cash": "10000", "anchor": "150"})
        client.post("/v1/positions", json={"symbol": "MSFT", "cash": "5000"})
        driver = _chromium()
        try:
            driver.get(f"{served.url}/?token={TOKEN}")  # type: ignore[attr-defined]
            wait = WebDriverWait(driver, 20)
            wait.until(lambda d: "updated" in d.find_element(By.ID, "status").text)
            rows = driver.find_elements(By.CSS_SELECTOR, "#positions tbody tr")  # type: ignore[attr-defined]
            assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows] == ["default/AAPL", "default/MSFT"]
            fill = client.post("/v1/positions/AAPL/trades", json={"side": "sell", "qty": "5", "price": "151.37"}).json()
            driver.refresh()  # type: ignore[attr-defined]
            wait.until(lambda d: "updated" in d.find_element(By.ID, "status").text)
            wait.until(lambda d: fill["id"] in d.find_element(By.ID, "trades").text)
            first = driver.find_elements(By.CSS_SELECTOR, "#positions tbody tr")[0]  # type: ignore[attr-defined]
            assert "151.37" in first.text and "95" in first.text
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chart polyline"))
            driver.find_element(By.ID, "eval-price").clear()  # type: ignore[attr-defined]
            driver.find_element(By.ID, "eval-price").send_keys("140")  # type: ignore[attr-defined]
            driver.find_element(By.CSS_SELECTOR, "#evaluate button").click()  # type: ignore[attr-defined]
            wait.until(lambda d: "BUY" in d.find_element(By.ID, "working").text)
            driver.save_screenshot(str(Path(os.environ.get("VB_SCREENSHOT_DIR", "/tmp")) / "vb-dashboard.png"))  # type: ignore[attr-defined]
        finally:
            driver.quit()  # type: ignore[attr-defined]
