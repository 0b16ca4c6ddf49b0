"""Liveness, readiness and the hidden benchmark baseline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from repo_api.deps import SessionDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive and serving; says nothing about the database."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "database down or migrations behind"}})
def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers and its migrations are at head (repo_db.check_health).

    ``replica`` reports the read replica (state ok / lagging / down / not_configured, lag in
    seconds); a replica that is down or behind leaves the API ready: reads use the primary."""
    try:
        from repo_db import check_health

        health = check_health(request.app.state.engine)
    except Exception as exc:  # a probe must answer, never crash: report "down"
        body: dict[str, Any] = {
            "status": "not_ready",
            "database": "down",
            "error": type(exc).__name__,
        }
        return JSONResponse(body, status_code=503)
    ready, body = health.readiness()
    return JSONResponse(body, status_code=200 if ready else 503)


bench_router = APIRouter(include_in_schema=False)


@bench_router.get("/_bench/baseline")
def baseline(session: SessionDep) -> dict[str, int]:
    """Same framework, pool and session as real routes, one trivial query: the cost floor."""
    return {"value": int(session.execute(text("SELECT 1")).scalar_one())}
