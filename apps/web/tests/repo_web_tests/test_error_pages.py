"""Error pages are HTML with the security headers: 404, 403, 500 and 503 (database outage)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from repo_web.app import create_app
from repo_web.config import WebSettings


def test_database_outage_is_a_quick_503_page_with_retry_after() -> None:
    # Nothing listens on port 1: the connection is refused at once.
    unreachable = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    app = create_app(engine=unreachable, settings=WebSettings(secure_cookies=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        started = time.monotonic()
        response = client.get("/")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert "text/html" in response.headers["content-type"]
    assert "Temporarily unavailable" in response.text
    assert "Traceback" not in response.text and "psycopg" not in response.text
    assert "frame-ancestors" in response.headers["content-security-policy"]
    assert elapsed < 5


def test_unexpected_errors_are_a_500_page_without_details() -> None:
    app = create_app(engine=create_engine("sqlite://"), settings=WebSettings(secure_cookies=False))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_unknown_routes_and_methods_are_html(client: TestClient) -> None:
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and "Page not found" in missing.text
    wrong_method = client.put("/login")
    assert wrong_method.status_code in (403, 405)
    assert "text/html" in wrong_method.headers["content-type"]
