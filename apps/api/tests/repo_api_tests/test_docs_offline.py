"""/docs and /redoc render in a real headless Chromium with no network beyond the API itself.

FastAPI's default pages load Swagger UI and ReDoc from a CDN and stay blank offline; the assets
come from the fastapi-offline wheel instead. The browser refuses every request that leaves the
API's own origin, so the test means the same on a machine with internet access.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Route, sync_playwright
from sqlalchemy import create_engine

from repo_api.app import create_app

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
RENDER_TIMEOUT_MS = 30_000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("docs") / "docs.sqlite3"
    app = create_app(engine=create_engine(f"sqlite:///{db}"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the API did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # The Debian package (apt-get install chromium); `playwright install` cannot download here.
    # Without PATH in the sandbox, shutil.which searches os.defpath, which includes /usr/bin.
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: apt-get update && apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open_offline(browser: Browser, api_url: str, path: str) -> tuple[Page, list[str]]:
    page = browser.new_page()
    refused: list[str] = []

    def only_the_api(route: Route) -> None:
        if route.request.url.startswith(api_url + "/"):
            route.continue_()
        else:
            refused.append(f"{route.request.resource_type} {route.request.url}")
            route.abort()

    page.route("**/*", only_the_api)
    page.goto(api_url + path)
    return page, refused


def test_swagger_ui_renders_the_operations_offline(browser: Browser, api_url: str) -> None:
    page, refused = _open_offline(browser, api_url, "/docs")
    page.wait_for_selector(".opblock", timeout=RENDER_TIMEOUT_MS)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/attempts" in p for p in paths), paths
    assert page.locator(".opblock").count() >= 10
    assert refused == [], refused
    page.close()


def test_redoc_renders_the_operations_offline(browser: Browser, api_url: str) -> None:
    page, refused = _open_offline(browser, api_url, "/redoc")
    # ReDoc's menu lists every operation once the spec is loaded and rendered.
    page.wait_for_selector("[role=menuitem]", timeout=RENDER_TIMEOUT_MS)
    assert "Assessment platform API" in page.locator("h1").first.inner_text()
    assert page.locator("[role=menuitem]").count() >= 10
    # Only ReDoc's "powered by" badge image points at its CDN; offline it is simply not shown.
    assert [r for r in refused if not r.startswith("image ")] == [], refused
    page.close()
