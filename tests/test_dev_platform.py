"""`./pants run :dev` (tools/dev/run_platform.py), run as a real process: it starts every app,
prints the URLs and the demo accounts once they answer, restarts only the app whose files
change, and stops them all on Ctrl-C."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from repo_db.seed import DEMO_ASSESSMENTS, DEMO_PASSWORD, DEMO_USERS
from tools import servers

STARTUP_TIMEOUT_S = 120
RESTART_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Launcher:
    proc: subprocess.Popen[str]
    api_port: int
    web_port: int
    tree: Path
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"launcher exited with {self.proc.returncode}:\n{self.output}")
            if check():
                return
            time.sleep(0.2)
        raise AssertionError(f"no {what} within {timeout}s:\n{self.output}")

    def server_pids(self, app: str) -> list[str]:
        # uvicorn's own line ("INFO:     Started server process [N]") or the same message
        # through repo_observability's log format (the web logs through it).
        pattern = re.compile(rf"^{app} +\| .*\bStarted server process \[(\d+)\]")
        return [m.group(1) for line in self.lines if (m := pattern.match(line))]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    # The apps run from a working tree that the test may edit: a copy of the sources this
    # sandbox holds (never the sandbox's own files).
    tree = tmp_path / "tree"
    for top in ("apps", "packages"):
        shutil.copytree(top, tree / top, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    api_port, web_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "DEV_ROOT": str(tree),
        "SQLITE_PATH": str(tmp_path / "dev.sqlite3"),
        "API_PORT": str(api_port),
        "WEB_PORT": str(web_port),
        "PYTHONPATH": os.pathsep.join(sys.path),
        "NO_COLOR": "1",
    }
    proc = servers.spawn(
        "launcher",
        [sys.executable, "-m", "tools.dev.run_platform"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    launcher = Launcher(proc, api_port, web_port, tree)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            launcher.lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield launcher
    finally:
        servers.stop_process(proc)  # SIGTERM: the launcher stops its apps
        reader.join(timeout=5)


def _wait_ready(launcher: Launcher) -> None:
    launcher.wait_for(
        "ready banner",
        lambda: any("ready in" in line for line in launcher.lines),
        STARTUP_TIMEOUT_S,
    )


def test_banner_lists_urls_and_demo_accounts_once_the_apps_answer(launcher: Launcher) -> None:
    _wait_ready(launcher)
    # the banner comes only after both apps answer: they do now, without retries
    assert _answers(f"http://127.0.0.1:{launcher.api_port}/healthz")
    page = httpx.get(f"http://127.0.0.1:{launcher.web_port}/", timeout=5)
    assert page.status_code == 200
    # demo data seeded once, before the apps started, and the web app reads it
    assert any(spec["title"] in page.text for spec in DEMO_ASSESSMENTS), page.text
    out = launcher.output
    assert f"api  http://127.0.0.1:{launcher.api_port}/docs" in out
    assert f"web  http://127.0.0.1:{launcher.web_port}/" in out
    assert f"password {DEMO_PASSWORD}" in out
    for email, _name, role in DEMO_USERS:
        assert re.search(rf"^dev \|\s+{role}\s+{re.escape(email)}$", out, re.M), out
    assert out.count("ready in") == 1
    ai_started = (launcher.tree / "apps/ai/src/repo_ai/__main__.py").is_file()
    assert ("skipping ai" in out) != ai_started, out


def test_an_edit_restarts_only_the_app_that_uses_it(launcher: Launcher) -> None:
    _wait_ready(launcher)
    web_pids, api_pids = launcher.server_pids("web"), launcher.server_pids("api")
    assert len(web_pids) == 1, launcher.output

    with (launcher.tree / "apps/web/src/repo_web/app.py").open("a") as f:
        f.write("\n# edited by test_dev_platform\n")
    launcher.wait_for(
        "web restart",
        lambda: len(launcher.server_pids("web")) == 2,
        RESTART_TIMEOUT_S,
    )
    launcher.wait_for(
        "web answering again",
        lambda: _answers(f"http://127.0.0.1:{launcher.web_port}/healthz"),
        RESTART_TIMEOUT_S,
    )
    assert launcher.server_pids("web")[1] != web_pids[0]
    assert launcher.server_pids("api") == api_pids, "the api does not use apps/web"

    # The browser code is served from the working tree itself: an edit shows on the next load.
    js = launcher.tree / "apps/web/js/src/app.js"
    js.write_text(js.read_text() + "\n// edited by test_dev_platform\n")
    served = httpx.get(f"http://127.0.0.1:{launcher.web_port}/static/js/app.js", timeout=5)
    assert served.status_code == 200
    assert served.text.endswith("// edited by test_dev_platform\n")


def test_ctrl_c_stops_every_app(launcher: Launcher) -> None:
    _wait_ready(launcher)
    launcher.proc.send_signal(signal.SIGINT)
    assert launcher.proc.wait(timeout=30) == 0, launcher.output
    time.sleep(0.5)  # the reader thread drains the last lines
    lines = launcher.lines
    assert any(line.startswith("api | ") for line in lines), launcher.output
    assert any(line.startswith("web | ") for line in lines), launcher.output
    assert "dev | stopping all apps" in lines
    for port in (launcher.api_port, launcher.web_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after stop"
