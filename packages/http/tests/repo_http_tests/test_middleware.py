"""The shared edge on a real Starlette app: body limit, headers, no-store, HSTS, request ids."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator

import pytest
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from repo_http import (
    HSTS,
    BodyLimitMiddleware,
    RefusalRenderer,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
    upload_limit,
)
from repo_observability import configure_logging

LIMIT = 4096
CSP = "default-src 'self'; frame-ancestors 'none'"


def build(
    *,
    production: bool = False,
    csp: str | Callable[[str], str] = CSP,
    render: RefusalRenderer | None = None,
    route_limits: dict[tuple[str, str], int] | None = None,
) -> tuple[Starlette, list[str]]:
    """An app with the edge mounted as the apps mount it; `ran` records which routes ran."""
    ran: list[str] = []

    async def form(request: Request) -> Response:
        ran.append("form")
        data = await request.form()
        return PlainTextResponse(f"fields={len(data)}")

    async def echo_json(request: Request) -> Response:
        ran.append("json")
        return JSONResponse({"size": len(json.dumps(await request.json()))})

    async def page(request: Request) -> Response:
        return PlainTextResponse("hi", headers={"cache-control": "public, max-age=600"})

    async def boom(request: Request) -> Response:
        password = "pw-in-locals"
        raise RuntimeError(f"boom {len(password)}")

    app = Starlette(
        routes=[
            Route("/form", form, methods=["POST"]),
            Route("/json", echo_json, methods=["POST"]),
            Route("/page", page),
            Route("/static/app.js", page),
            Route("/boom", boom),
        ]
    )
    if render is None:
        app.add_middleware(BodyLimitMiddleware, max_bytes=LIMIT, route_limits=route_limits)
    else:
        app.add_middleware(
            BodyLimitMiddleware, max_bytes=LIMIT, route_limits=route_limits, render=render
        )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(
        SecurityHeadersMiddleware,
        csp=csp,
        production=production,
        cacheable=("/static/",),
        extra={"Permissions-Policy": "camera=()"},
    )
    return app, ran


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"a" * 1024
        sent += 1024


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/form", "application/x-www-form-urlencoded"), ("/json", "application/json")],
)
def test_a_declared_body_above_the_limit_is_refused_before_the_route_runs(
    path: str, content_type: str
) -> None:
    app, ran = build()
    with TestClient(app) as client:
        response = client.post(
            path, content=b"a" * (LIMIT + 1), headers={"content-type": content_type}
        )
    assert response.status_code == 413
    assert response.text == f"The request body is larger than {LIMIT} bytes."
    assert response.headers["connection"] == "close"
    assert response.headers["x-content-type-options"] == "nosniff"  # the edge's answer has them
    assert ran == []


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/form", "application/x-www-form-urlencoded"), ("/json", "application/json")],
)
def test_a_streamed_body_is_cut_off_at_the_limit(path: str, content_type: str) -> None:
    app, ran = build()
    with TestClient(app) as client:
        response = client.post(
            path, content=_chunks(64 * LIMIT), headers={"content-type": content_type}
        )
    assert "content-length" not in response.request.headers  # chunked
    assert response.status_code == 413
    assert response.text.startswith("The request body is larger")
    assert ran == [path.strip("/")]  # the route started reading; its own answer was dropped


def test_bodies_within_the_limit_and_bad_lengths() -> None:
    app, ran = build()
    with TestClient(app) as client:
        ok = client.post("/form", data={"a": "1", "b": "x" * (LIMIT - 100)})
        assert ok.status_code == 200 and ok.text == "fields=2"
        assert client.post("/json", json={"k": "v"}).json() == {"size": 10}
        bad = client.post("/form", content=b"a=1", headers={"content-length": "-5"})
    assert bad.status_code == 400
    assert ran == ["form", "json"]


def test_a_route_given_a_larger_limit_takes_more_and_no_other_route_does() -> None:
    upload = upload_limit(2 * LIMIT)
    assert upload > 2 * LIMIT
    app, ran = build(route_limits={("POST", "/form"): upload})
    with TestClient(app) as client:
        assert client.post("/form", data={"a": "x" * (2 * LIMIT)}).status_code == 200
        declared = client.post("/form", data={"a": "x" * upload})
        streamed = client.post(
            "/form",
            content=_chunks(2 * upload),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        other = client.post("/json", json={"a": "x" * (2 * LIMIT)})
    assert declared.status_code == 413 and streamed.status_code == 413
    assert declared.text == f"The request body is larger than {upload} bytes."
    assert other.status_code == 413
    assert other.text == f"The request body is larger than {LIMIT} bytes."
    assert ran == ["form", "form"]  # the one within its limit, and the streamed one cut off


def test_the_app_renders_its_own_refusals() -> None:
    def render(request: Request, status: int, message: str) -> Response:
        return JSONResponse({"error": {"status": status, "id": request.state.request_id}}, status)

    app, _ = build(render=render)
    with TestClient(app) as client:
        response = client.post(
            "/json", content=_chunks(8 * LIMIT), headers={"x-request-id": "req-1"}
        )
    assert response.status_code == 413
    assert response.json() == {"error": {"status": 413, "id": "req-1"}}
    assert response.headers["x-request-id"] == "req-1"


def test_security_headers_and_no_store_everywhere_but_the_cacheable_prefixes() -> None:
    app, _ = build()
    with TestClient(app) as client:
        page = client.get("/page")
        missing = client.get("/nothing-here")
        static = client.get("/static/app.js")
    for response in (page, missing, static):
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["permissions-policy"] == "camera=()"
        assert "strict-transport-security" not in response.headers  # development
    assert page.headers["cache-control"] == "no-store"  # the app's "public" is overridden
    assert missing.headers["cache-control"] == "no-store"
    assert static.headers["cache-control"] == "public, max-age=600"


def test_hsts_in_production_and_a_csp_per_path() -> None:
    app, _ = build(production=True)
    with TestClient(app) as client:
        assert client.get("/page").headers["strict-transport-security"] == HSTS
    per_path, _ = build(csp=lambda path: "docs" if path.startswith("/static") else "api")
    with TestClient(per_path) as client:
        assert client.get("/static/app.js").headers["content-security-policy"] == "docs"
        assert client.get("/page").headers["content-security-policy"] == "api"


def test_request_ids_are_validated_and_propagated() -> None:
    app, _ = build()
    with TestClient(app) as client:
        kept = client.get("/page", headers={"X-Request-ID": "abc-123"})
        fresh = client.get("/page")
        bogus = client.get("/page", headers={"X-Request-ID": "bad id\twith <spaces>"})
        too_long = client.get("/page", headers={"X-Request-ID": "a" * 129})
    assert kept.headers["x-request-id"] == "abc-123"
    assert len(fresh.headers["x-request-id"]) == 32
    assert bogus.headers["x-request-id"] != "bad id\twith <spaces>"
    assert len(bogus.headers["x-request-id"]) == 32
    assert len(too_long.headers["x-request-id"]) == 32


def test_one_access_line_per_request_and_stray_errors(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="info", json_logs=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the test client's own request lines
    app, _ = build()
    with TestClient(app) as client:
        client.get("/page?token=secret-in-query", headers={"X-Request-ID": "r-1"})
        client.post("/form", content=b"a" * (LIMIT + 1))
        boom = client.get("/boom", headers={"X-Request-ID": "r-3"})
    assert boom.status_code == 500 and boom.text == "internal server error"
    assert boom.headers["x-request-id"] == "r-3"
    assert boom.headers["x-content-type-options"] == "nosniff"
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.strip().splitlines()]
    access = [line for line in lines if line["event"] == "request"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [
        ("GET", "/page", 200),
        ("POST", "/form", 413),
        ("GET", "/boom", 500),
    ]
    assert access[0]["request_id"] == "r-1" and access[2]["request_id"] == "r-3"
    (error,) = (line for line in lines if line["event"] == "request.unhandled_error")
    assert error["request_id"] == "r-3" and "RuntimeError: boom 12" in error["exception"]
    assert "secret-in-query" not in err and "pw-in-locals" not in err
