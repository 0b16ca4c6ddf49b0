"""The shared edge (repo_http) in the web UI: body limit before any parsing, no-store on every
page, HSTS in production, request ids, and production logs without secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_db.models import Role
from repo_domain.signin import AccountService
from repo_http import HSTS
from repo_web.app import create_app
from repo_web.config import WebSettings
from repo_web.deps import SESSION_COOKIE
from repo_web.security import CSRF_FIELD
from repo_web_tests.helpers import PASSWORD, csrf_token, log_in, make_assessment, make_user

MIB = 1024 * 1024
# Production settings need the device-cookie secret (repo_domain.throttle refuses to start without).
DEVICE_SECRET = "edge-pages-test-device-cookie-secret-0123456789"


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture()
def route_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every call of the log-in/sign-up service: the routes' work, after parsing."""
    calls: list[str] = []

    async def log_in(self: AccountService, **kwargs: Any) -> Any:
        calls.append("log_in")
        raise AssertionError("the route ran")

    monkeypatch.setattr(AccountService, "log_in", log_in)
    return calls


def test_a_5_mib_login_form_is_refused_before_anything_parses_it(
    client: TestClient, route_calls: list[str]
) -> None:
    token = csrf_token(client)
    form = {CSRF_FIELD: token, "email": "a@example.test", "password": "p" * (5 * MIB)}
    response = client.post("/login", data=form)
    assert "content-length" in response.request.headers
    assert response.status_code == 413
    assert "text/html" in response.headers["content-type"]
    assert "Too much data" in response.text and "larger than 1048576 bytes" in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert len(response.headers["x-request-id"]) == 32
    assert route_calls == []


def test_a_streamed_login_form_is_cut_off_at_the_limit(
    client: TestClient, route_calls: list[str]
) -> None:
    token = csrf_token(client)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts while it streams
        yield f"{CSRF_FIELD}={token}&email=a%40example.test&password=".encode()
        for _ in range(5 * 16):
            yield b"p" * (64 * 1024)

    response = client.post(
        "/login",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413 and "Too much data" in response.text
    assert route_calls == []
    # A form within the limit still reaches the route (whose stand-in fails: a 500 page).
    within = {CSRF_FIELD: token, "email": "a@example.test", "password": "x"}
    assert client.post("/login", data=within).status_code == 500
    assert route_calls == ["log_in"]


def test_the_body_limit_is_a_setting(db_engine: Engine) -> None:
    settings = WebSettings(
        secure_cookies=False, rate_limit_storage="memory://", max_body_bytes=2048
    )
    with TestClient(create_app(engine=db_engine, settings=settings)) as client:
        token = csrf_token(client)
        big = client.post("/login", data={CSRF_FIELD: token, "email": "e" * 3000})
        small = client.post("/login", data={CSRF_FIELD: token, "email": "e" * 100})
    assert big.status_code == 413
    assert small.status_code == 422  # the form error: no password


def test_logged_in_pages_carry_no_store_and_static_files_do_not(
    client: TestClient, db_engine: Engine
) -> None:
    admin = make_user(db_engine, role=Role.ADMIN)
    assessment_id = make_assessment(db_engine, admin)
    draft_id = make_assessment(db_engine, admin, publish=False)
    log_in(client, admin)
    pages = (
        "/dashboard",
        f"/assessments/{assessment_id}",
        "/manage",
        f"/manage/{assessment_id}",
        f"/manage/{assessment_id}/stats",
        f"/manage/{draft_id}/questions/1",
        "/reviews",
        "/admin",
        "/admin/users",
    )
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "no-store", url
    for url in ("/login", "/signup", "/no-such-page"):  # anonymous, but with the CSRF token
        client.cookies.delete(SESSION_COOKIE)
        assert client.get(url).headers["cache-control"] == "no-store", url
    static = client.get("/static/css/site.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")


def test_hsts_in_production_only(db_engine: Engine) -> None:
    base = WebSettings(
        secure_cookies=False, rate_limit_storage="memory://", device_cookie_secret=DEVICE_SECRET
    )
    for production in (True, False):
        settings = base.overriding_environment(production=production)
        with TestClient(create_app(engine=db_engine, settings=settings)) as client:
            responses = [client.get(url) for url in ("/login", "/static/css/site.css", "/nope")]
        for response in responses:
            if production:
                assert response.headers["strict-transport-security"] == HSTS
            else:
                assert "strict-transport-security" not in response.headers
    assert base.overriding_environment(production=True).cookies_secure is False  # explicit wins
    assert WebSettings().overriding_environment(production=True).cookies_secure is True


def test_request_ids_are_kept_or_made(client: TestClient) -> None:
    assert client.get("/login", headers={"X-Request-ID": "req-42"}).headers["x-request-id"] == (
        "req-42"
    )
    assert len(client.get("/login", headers={"X-Request-ID": "a b"}).headers["x-request-id"]) == 32


def test_an_error_during_sign_up_leaves_no_secret_in_production_logs(
    db_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the web configured its logging, structlog's default (with `rich`) printed every
    frame's local variables with the traceback: the password in plain text."""

    async def failing_sign_up(self: AccountService, *, password: str, **kwargs: Any) -> None:
        password_hash = f"$argon2id$v=19$m=65536${password[::-1]}"
        raise RuntimeError(f"store unreachable ({len(password_hash)})")

    monkeypatch.setattr(AccountService, "sign_up", failing_sign_up)
    settings = WebSettings(
        secure_cookies=False, rate_limit_storage="memory://", device_cookie_secret=DEVICE_SECRET
    ).overriding_environment(production=True)
    password = "Unique-Secret-Passw0rd-7319"
    session_cookie = "session-cookie-value-5521"
    with TestClient(create_app(engine=db_engine, settings=settings)) as client:
        token = csrf_token(client)
        client.cookies.set(SESSION_COOKIE, session_cookie)
        response = client.post(
            "/signup",
            data={
                CSRF_FIELD: token,
                "display_name": "Ada",
                "email": "ada@example.test",
                "password": password,
            },
        )
    assert response.status_code == 500 and "Something went wrong" in response.text
    captured = capsys.readouterr()
    logs = captured.out + captured.err
    for secret in (password, password[::-1], session_cookie, token, PASSWORD):
        assert secret not in logs
    assert '"event": "web.unhandled_error"' in logs  # the error is logged, as a JSON line
    assert "RuntimeError: store unreachable" in logs
