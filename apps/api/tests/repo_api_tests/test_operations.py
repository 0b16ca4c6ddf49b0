"""Operations: health/readiness, OpenAPI and docs, error bodies, request ids, CORS."""

from __future__ import annotations

import gc

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from starlette.types import Message, Receive, Scope, Send

from repo_api.app import create_app
from repo_api.config import ApiSettings
from repo_api_tests.helpers import assert_error
from repo_db import unit_of_work
from repo_db.models import User
from repo_db.testing import truncate_all


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready" and ready.json()["migrations_current"] is True


def test_readyz_is_503_without_migrations(tmp_path: object) -> None:
    from repo_db import get_engine

    empty = get_engine(f"sqlite:///{tmp_path}/empty.sqlite3")  # never migrated
    with TestClient(create_app(engine=empty, settings=ApiSettings())) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/auth/register",
        "/auth/login",
        "/users/me",
        "/assessments",
        "/assessments/{assessment_id}/attempts",
        "/attempts/{attempt_id}/submit",
        "/admin/users",
        "/readyz",
    ):
        assert path in paths, path
    assert "/_bench/baseline" not in paths  # hidden even when enabled
    assert "text/html" in client.get("/docs").headers["content-type"]


def test_errors_are_json_with_request_id(client: TestClient) -> None:
    missing = client.get("/no/such/route", headers={"X-Request-ID": "abc-123"})
    error = assert_error(missing, 404, "not_found")
    assert missing.headers["x-request-id"] == "abc-123" == error["request_id"]
    generated = client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    bogus = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert bogus.headers["x-request-id"] != "bad id\twith spaces"
    assert_error(client.delete("/healthz"), 405, "method_not_allowed")
    malformed = client.post(
        "/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(malformed, 422, "validation_error")
    assert_error(client.get("/assessments/not-a-number"), 401)  # auth is checked first


def test_unexpected_exceptions_become_500_without_traceback(db_engine: Engine) -> None:
    app: FastAPI = create_app(engine=db_engine, settings=ApiSettings())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    error = assert_error(response, 500, "internal_error")
    assert "secret internal detail" not in response.text
    assert response.headers["x-request-id"] == error["request_id"]


def test_cors_allows_the_configured_web_origin(client: TestClient) -> None:
    preflight = client.options(
        "/users/me",
        headers={
            "Origin": "http://web.example.test",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://web.example.test"
    denied = client.get("/healthz", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in denied.headers


def test_bench_baseline_only_when_enabled(client: TestClient, db_engine: Engine) -> None:
    assert client.get("/_bench/baseline").json() == {"value": 1}
    with TestClient(create_app(engine=db_engine, settings=ApiSettings())) as plain:
        assert_error(plain.get("/_bench/baseline"), 404)


def test_writes_are_committed_before_the_response_starts(db_engine: Engine) -> None:
    """A client that gets 201 and immediately reads elsewhere must see the row (no late commit)."""
    app = create_app(engine=db_engine, settings=ApiSettings())
    seen_at_response_start: list[bool] = []

    async def probe(scope: Scope, receive: Receive, send: Send) -> None:
        async def check(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["path"] == "/auth/register":
                with unit_of_work(bind=db_engine) as session:
                    found = session.scalar(select(User.id).where(User.email == "late@ex.io"))
                seen_at_response_start.append(found is not None)
            await send(message)

        await app(scope, receive, check)

    body = {"email": "late@ex.io", "password": "late-but-committed", "display_name": "Late"}
    try:
        with TestClient(probe) as client:
            assert client.post("/auth/register", json=body).status_code == 201
    finally:
        truncate_all(db_engine)
    assert seen_at_response_start == [True]


def test_startup_freezes_the_garbage_collector(app: FastAPI) -> None:
    gc.unfreeze()
    with TestClient(app):
        assert gc.get_freeze_count() > 10_000  # the modules and the app, not collected again
    gc.unfreeze()
