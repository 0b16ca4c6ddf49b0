"""The web UI's ASGI app: server-rendered pages that read the database through repo_db."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_web.catalogue import render_catalogue
from repo_web.static_files import mount_static


def create_app(engine: Engine | None = None) -> FastAPI:
    """`engine=None` uses repo_db's configured default database."""
    app = FastAPI(
        title="Assessment platform web UI", docs_url=None, redoc_url=None, openapi_url=None
    )

    @app.get("/", response_class=HTMLResponse)
    def catalogue() -> str:
        with unit_of_work(bind=engine) as session:
            return render_catalogue(session)

    mount_static(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
