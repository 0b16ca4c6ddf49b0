"""A real server for the browser tests: the web app under uvicorn, in its own process, on a free
loopback port, against a temp SQLite file that is migrated and seeded (demo data + 10,000 users);
and Playwright driving the Debian `chromium` package headless (never `playwright install`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from repo_db.bulk_seed import bulk_seed
from repo_db.seed import seed_demo
from repo_db.testing import prepare_schema, temporary_database

SEEDED_USERS = 10_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def extra_output_dir() -> Path:
    """WEB_SCREENSHOT_DIR's parent when set, else extra-output/ (see `screenshot_dir`)."""
    return screenshot_dir().parent


def screenshot_dir() -> Path:
    """WEB_SCREENSHOT_DIR, else extra-output/screenshots of the working directory: Pants copies
    a test's extra-output/ to dist/test/<test>/, also when the result comes from a cache. (Not
    the checkout's path: an absolute path in the test's environment would be part of its cache
    key and differ in every clone, so a fresh clone could never reuse the team's results.)"""
    explicit = os.environ.get("WEB_SCREENSHOT_DIR")
    path = Path(explicit) if explicit else Path("extra-output") / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def server_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web-e2e")


@pytest.fixture(scope="session")
def server_database(server_workdir: Path) -> str:
    """The server's SQLite file (a test may write what a background worker would write)."""
    with temporary_database("sqlite", server_workdir) as engine:
        prepare_schema(engine)
        seed_demo(engine)
        bulk_seed(SEEDED_USERS, engine)
        return str(engine.url.database)


@pytest.fixture(scope="session")
def server_url(server_workdir: Path, server_database: str) -> Iterator[str]:
    workdir, database = server_workdir, server_database
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "NEON_DATABASE_URL", "APP_ENV", "NODE_ENV")
    }
    # The child imports exactly what this test process can (the Pants sandbox or a checkout).
    env.update(
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
        SQLITE_PATH=database,
        DB_LOG_QUERIES="false",
    )
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "repo_web", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"web server exited: {(workdir / 'server.log').read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("web server did not answer within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    if chromium is None:  # CI installs it (tools/ci/ensure-services.sh): missing is a failure
        pytest.fail("the Debian `chromium` package is not installed: apt-get install chromium")
    return {
        **browser_type_launch_args,
        "executable_path": chromium,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any], server_url: str) -> dict[str, Any]:
    return {
        **browser_context_args,
        "base_url": server_url,
        "viewport": {"width": 1100, "height": 900},
    }


@pytest.fixture(scope="session", autouse=True)
def accessibility_report() -> Iterator[None]:
    """After the session, the list of axe-core audits (page, URL, JavaScript, violations) goes to
    extra-output/axe-audits.txt next to the screenshots, and its count to the terminal."""
    yield
    from repo_web_tests.browser.accessibility import AUDITED

    lines = [
        f"{a.name}\t{a.url}\t{'js' if a.javascript else 'no-js'}\t{a.violations}" for a in AUDITED
    ]
    (extra_output_dir() / "axe-audits.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pages = {a.url.split("?")[0] for a in AUDITED}
    violations = sum(a.violations for a in AUDITED)
    print(f"\naxe-core: {len(AUDITED)} audits of {len(pages)} pages, {violations} violations")
