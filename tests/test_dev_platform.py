"""`./pants run :dev` (tools/dev/run_platform.py) starts every app and stops them all on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STARTUP_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ok(url: str, proc: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"launcher exited early with {proc.returncode}:\n{output}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {STARTUP_TIMEOUT_S}s")


def test_dev_launcher_serves_api_and_web_then_stops_everything(tmp_path: Path) -> None:
    api_port, web_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "SQLITE_PATH": str(tmp_path / "dev.sqlite3"),
        "API_PORT": str(api_port),
        "WEB_PORT": str(web_port),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.dev.run_platform"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_ok(f"http://127.0.0.1:{api_port}/readyz", proc)
        page = _wait_ok(f"http://127.0.0.1:{web_port}/", proc)
        # demo data was seeded once, before the apps started, and the web app reads it
        assert "<li data-id=" in page.text
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    except BaseException:
        proc.terminate()  # the launcher stops its apps on SIGTERM
        try:
            print(proc.communicate(timeout=30)[0])  # the launcher's output, shown on failure
        finally:
            proc.kill()
        raise
    assert proc.returncode == 0, output
    lines = output.splitlines()
    assert any(line.startswith("api | ") for line in lines), output
    assert any(line.startswith("web | ") for line in lines), output
    for port in (api_port, web_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after stop"
