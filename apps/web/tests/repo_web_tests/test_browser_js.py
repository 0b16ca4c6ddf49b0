"""The browser code of apps/web/js, as the web app serves it, in a real headless Chromium.

A fixture page with the markup each module enhances is added to the real web app (which serves
`/static/js/` from its package); the modules' own logic is unit-tested with `node --test`.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import create_engine

from repo_web.app import create_app
from repo_web.security import CSRF_COOKIE

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
CSRF = "token-123"


def _page(q: int, deadline: datetime) -> str:
    links = "".join(
        f'<a href="/fixture?q={i}" data-question-index="{i}"'
        + (' aria-current="page"' if i == q else "")
        + f">{i}</a>"
        for i in (1, 2, 3)
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>q{q}</title>
<script type="module" src="/static/js/app.js"></script></head><body>
<nav data-question-nav>{links}</nav>
<form data-autosave method="post" action="/fixture/answer?q={q}">
  <input type="hidden" name="csrf_token" value="{CSRF}">
  <label for="answer">Answer</label><textarea id="answer" name="answer"></textarea>
  <span data-countdown data-deadline="{deadline.isoformat().replace("+00:00", "Z")}"></span>
  <p data-autosave-status></p>
  <button>Save and next</button>
</form>
<svg width="200" height="100"><rect data-tooltip="7 learners scored 60-70%"
  x="10" y="10" width="80" height="80"></rect></svg>
</body></html>"""


class Fixture:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.deadline = datetime.now(UTC) + timedelta(hours=1)

    def install(self, app: FastAPI) -> None:
        @app.get("/fixture", response_class=HTMLResponse)
        def page(q: int = 1) -> str:
            return _page(q, self.deadline)

        @app.post("/fixture/answer")
        async def answer(request: Request, q: int) -> Response:
            form = await request.form()
            self.posts.append(
                {"autosave": request.headers.get("x-autosave"), "q": q, **dict(form.items())}
            )
            if request.headers.get("x-autosave"):
                return Response(status_code=204)
            return RedirectResponse(f"/fixture?q={q}", status_code=303)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Fixture]]:
    db: Path = tmp_path_factory.mktemp("js") / "web.sqlite3"
    app = create_app(engine=create_engine(f"sqlite:///{db}"))
    fixture = Fixture()
    fixture.install(app)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", fixture
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")  # Debian's package; os.defpath covers /usr/bin
    if executable is None:
        pytest.fail("chromium is not installed: apt-get update && apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, served: tuple[str, Fixture]) -> Iterator[Page]:
    base, fixture = served
    fixture.posts.clear()
    fixture.deadline = datetime.now(UTC) + timedelta(hours=1)
    page = browser.new_page()
    # The web app checks every POST against its CSRF cookie: the fixture form carries CSRF.
    page.context.add_cookies([{"name": CSRF_COOKIE, "value": CSRF, "url": base}])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/fixture?q=1")
    expect(page.locator("html")).to_have_attribute("data-js", "on")  # app.js ran
    yield page
    page.close()
    assert errors == [], errors


def test_typing_autosaves_the_form_with_its_csrf_field(
    page: Page, served: tuple[str, Fixture]
) -> None:
    _, fixture = served
    page.fill("#answer", "a binary tree")
    expect(page.locator("[data-autosave-status]")).to_have_text("Answer saved.")
    assert fixture.posts[-1] == {
        "autosave": "1",
        "q": 1,
        "csrf_token": CSRF,
        "answer": "a binary tree",
    }
    assert len(fixture.posts) == 1  # one save for the whole burst of typing
    assert page.url.endswith("/fixture?q=1")  # no navigation


def test_countdown_shows_the_time_left(page: Page) -> None:
    # The deadline is an hour after the fixture page was built; on a loaded machine the page
    # may open seconds later, so the countdown reads 60:00 or a few seconds less (mm:ss).
    expect(page.locator("[data-countdown]")).to_have_text(
        re.compile(r"^(60:00|59:[0-5][0-9])$"), timeout=5000
    )
    expect(page.locator("[data-countdown]")).not_to_have_attribute("data-warning", "")


def test_countdown_submits_the_form_when_the_time_runs_out(
    browser: Browser, served: tuple[str, Fixture]
) -> None:
    base, fixture = served
    fixture.posts.clear()
    # The page must open before the deadline (one opened after it never submits itself):
    # 10 s covers a page load on a loaded 2-core machine (3.5 s seen at load average 25).
    fixture.deadline = datetime.now(UTC) + timedelta(seconds=10)
    page = browser.new_page()
    page.context.add_cookies([{"name": CSRF_COOKIE, "value": CSRF, "url": base}])
    page.goto(f"{base}/fixture?q=2")
    expect(page.locator("[data-countdown]")).to_have_attribute("data-warning", "")
    assert page.locator("[data-countdown]").text_content() != "time is up", "opened too late"
    deadline = time.monotonic() + 30
    while not any(p["autosave"] is None for p in fixture.posts) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    plain = [p for p in fixture.posts if p["autosave"] is None]
    assert plain and plain[0]["csrf_token"] == CSRF, fixture.posts
    # the page it lands on is past the deadline: it says so and does not submit again
    expect(page.locator("[data-countdown]")).to_have_text("time is up")
    page.wait_for_timeout(1000)
    assert len([p for p in fixture.posts if p["autosave"] is None]) == 1
    page.close()


def test_arrow_keys_move_between_questions_but_not_while_typing(
    page: Page, served: tuple[str, Fixture]
) -> None:
    base, _ = served
    page.focus("#answer")
    page.keyboard.press("j")
    page.keyboard.press("ArrowRight")
    assert page.url == f"{base}/fixture?q=1"
    expect(page.locator("#answer")).to_have_value("j")
    page.evaluate("document.activeElement.blur()")  # leave the field
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"{base}/fixture?q=2")
    expect(page.locator("html")).to_have_attribute("data-js", "on")
    page.keyboard.press("k")
    page.wait_for_url(f"{base}/fixture?q=1")


def test_chart_tooltip_on_hover(page: Page) -> None:
    tooltip = page.locator(".chart-tooltip")
    expect(tooltip).to_be_hidden()
    page.hover("rect[data-tooltip]")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_have_text("7 learners scored 60-70%")
    page.mouse.move(190, 5)
    expect(tooltip).to_be_hidden()
