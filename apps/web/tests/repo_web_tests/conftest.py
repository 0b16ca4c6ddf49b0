"""Fixtures: the web app on repo_db's per-dialect test engine, a browser-like client, users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_db.testing import db_engine, truncate_all
from repo_web.app import create_app
from repo_web.config import WebSettings

# Imported, not `pytest_plugins`: pytest honours pytest_plugins only in the rootdir's conftest.
__all__ = ["db_engine"]


@pytest.fixture()
def app(db_engine: Engine) -> FastAPI:
    # memory:// throttle: every app (test) counts on its own, whatever REDIS_URL says.
    settings = WebSettings(secure_cookies=False, page_size=25, rate_limit_storage="memory://")
    return create_app(engine=db_engine, settings=settings)


@pytest.fixture()
def client(app: FastAPI, db_engine: Engine) -> Iterator[TestClient]:
    """A client on a clean database (rows deleted afterwards) that does not follow redirects."""
    try:
        with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
            yield c
    finally:
        truncate_all(db_engine)
