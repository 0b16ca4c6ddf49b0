"""The web UI's ASGI app: server-rendered pages over repo_domain, one repo_db unit of work per
request, CSRF-protected forms, security headers and HTML error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from repo_db import check_health
from repo_domain.qti import UPLOAD_MAX_BYTES as QTI_UPLOAD_MAX_BYTES
from repo_domain.throttle import build_throttle
from repo_http import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
    upload_limit,
)
from repo_observability import configure_logging
from repo_web.config import WebSettings, get_settings
from repo_web.errors import install_error_handlers, refusal, unhandled_error
from repo_web.routes import admin, auth, learner, manage, qti, reviews
from repo_web.security import (
    CONTENT_SECURITY_POLICY,
    EXTRA_HEADERS,
    REFERRER_POLICY,
    CsrfCookieMiddleware,
    verify_csrf,
)
from repo_web.static_files import STATIC_URL, mount_static


def create_app(*, engine: Engine | None = None, settings: WebSettings | None = None) -> FastAPI:
    """`engine=None` uses repo_db's configured default database (resolved per request)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Production: JSON lines, secrets redacted, tracebacks without local variables.
        configure_logging(level=settings.log_level, json_logs=settings.json_logs)
        yield

    app = FastAPI(
        title="Assessment platform web UI",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(verify_csrf)],
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.throttle = build_throttle(settings)  # log-in and sign-up (repo_domain.signin)
    install_error_handlers(app)
    mount_static(app)
    # qti before manage: /manage/import would otherwise match /manage/{assessment_id}.
    for module in (auth, learner, qti, manage, reviews, admin):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        """As the API's: the database answers and is migrated; the replica's state and lag."""
        try:
            ready, body = check_health(app.state.engine).readiness()
        except Exception as exc:  # a probe must answer, never crash: report "down"
            ready, body = False, {
                "status": "not_ready",
                "database": "down",
                "error": type(exc).__name__,
            }
        return JSONResponse(body, status_code=200 if ready else 503)

    # The shared edge (repo_http), innermost first: the body limit answers 413 before the CSRF
    # check (or anything) parses a form; inside the CSRF cookie middleware, so the 413 page has
    # the visitor's token like any page. Then request ids and access lines (and the 500 page of
    # a stray exception); the security headers outermost, on every response.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # The QTI import takes a file up to the domain's own limit; every other route keeps
        # max_body_bytes.
        route_limits={("POST", "/manage/import"): upload_limit(QTI_UPLOAD_MAX_BYTES)},
        render=refusal,
    )
    app.add_middleware(CsrfCookieMiddleware, secure_cookies=settings.cookies_secure)
    app.add_middleware(
        RequestContextMiddleware, on_error=unhandled_error, logger_name="repo_web.access"
    )
    app.add_middleware(
        SecurityHeadersMiddleware,
        csp=CONTENT_SECURITY_POLICY,
        production=settings.is_production,
        referrer_policy=REFERRER_POLICY,
        # Only the static assets are the same for everybody; every page (even the log-in form,
        # which carries the visitor's CSRF token) is no-store: repo_http.headers says why.
        cacheable=(f"{STATIC_URL}/",),
        extra=EXTRA_HEADERS,
    )
    return app
