"""The web UI's ASGI app: server-rendered pages over repo_domain, one repo_db unit of work per
request, CSRF-protected forms, security headers and HTML error pages."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from repo_domain.throttle import build_throttle
from repo_web.config import WebSettings, get_settings
from repo_web.errors import install_error_handlers
from repo_web.routes import admin, auth, learner, manage, reviews
from repo_web.security import SecurityMiddleware, verify_csrf
from repo_web.static_files import mount_static


def create_app(*, engine: Engine | None = None, settings: WebSettings | None = None) -> FastAPI:
    """`engine=None` uses repo_db's configured default database (resolved per request)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Assessment platform web UI",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(verify_csrf)],
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.throttle = build_throttle(settings)  # log-in and sign-up (repo_domain.signin)
    install_error_handlers(app)
    mount_static(app)
    for module in (auth, learner, manage, reviews, admin):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(SecurityMiddleware, secure_cookies=settings.cookies_secure)
    return app
