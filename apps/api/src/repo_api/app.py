"""The ASGI application factory. `app` is what uvicorn workers import (`repo_api.app:app`)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from repo_api import __doc__ as package_doc
from repo_api.config import ApiSettings, get_settings
from repo_api.errors import install_error_handlers, refusal, unhandled_error
from repo_api.routes import accounts, admin, assessments, attempts, health, qti, reviews
from repo_api.security import DOCS_PATHS, content_security_policy
from repo_domain.qti import UPLOAD_MAX_BYTES as QTI_UPLOAD_MAX_BYTES
from repo_domain.throttle import build_throttle
from repo_http import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
    upload_limit,
)
from repo_observability import configure_logging

API_VERSION = "1.0.0"


def create_app(*, engine: Engine | None = None, settings: ApiSettings | None = None) -> FastAPI:
    """Build the app. Without `engine`, every unit of work uses repo_db's configured database
    (and read-only ones its read replica, DATABASE_READ_URL, when set); importing this module
    never touches the database."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(level=settings.log_level, json_logs=settings.json_logs)
        # What exists now (modules, app, routes: ~130,000 objects) lives as long as the worker.
        # Frozen, it is out of the garbage collector's reach, so a full collection walks only what
        # requests allocate instead of pausing the worker 30-60 ms (docs/benchmarks.md).
        gc.freeze()
        yield

    metadata: dict[str, Any] = {
        "title": "Assessment platform API",
        "version": API_VERSION,
        "description": (package_doc or "").strip(),
        "lifespan": lifespan,
    }
    if settings.docs_on:
        # Swagger UI and ReDoc from assets installed with fastapi-offline, not from a CDN.
        app: FastAPI = FastAPIOffline(
            docs_url="/docs", redoc_url="/redoc", openapi_url="/openapi.json", **metadata
        )
    else:  # production default: no schema, no docs (fastapi-offline requires an openapi_url)
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **metadata)
    app.state.settings = settings
    app.state.engine = engine
    app.state.throttle = build_throttle(settings)  # log-in and registration (repo_domain.signin)

    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(accounts.router)
    app.include_router(qti.router)
    app.include_router(assessments.router)
    app.include_router(attempts.router)
    app.include_router(admin.router)
    app.include_router(reviews.router)
    if settings.bench_endpoints:
        app.include_router(health.bench_router)

    origins = settings.cors_origin_list
    if origins:  # none in production unless API_CORS_ORIGINS names them
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials="*" not in origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    # The shared edge (repo_http), innermost first: the body limit answers 413 before any body
    # is parsed; the request context (outside CORS, so a preflight gets an id too) gives every
    # request its id and access line and answers stray exceptions; the security headers are
    # outermost, so every response carries them, the 413s and 500s of the layers below included.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # The QTI import takes a file up to the domain's own limit; every other route keeps
        # max_body_bytes.
        route_limits={("POST", "/assessments/import"): upload_limit(QTI_UPLOAD_MAX_BYTES)},
        render=refusal,
    )
    app.add_middleware(
        RequestContextMiddleware, on_error=unhandled_error, logger_name="repo_api.access"
    )
    app.add_middleware(
        SecurityHeadersMiddleware,
        csp=content_security_policy,
        production=settings.is_production,
        cacheable=DOCS_PATHS,  # everything else holds tokens or personal data: no-store
    )
    return app


app = create_app()
