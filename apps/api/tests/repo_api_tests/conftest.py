"""Fixtures: the app wired to repo_db's per-dialect test engine, a client, rows wiped per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_api.app import create_app
from repo_api.config import ApiSettings
from repo_db.testing import db_engine, truncate_all

# Imported, not `pytest_plugins = ["repo_db.testing"]`: pytest only honours pytest_plugins in the
# rootdir's conftest, and this one is nested (both under Pants and in a plain checkout).
__all__ = ["db_engine"]


def make_settings(**overrides: Any) -> ApiSettings:
    """Development behaviour, in-memory throttle with limits no ordinary test reaches."""
    values: dict[str, Any] = {
        "rate_limit_storage": "memory://",
        "login_rate_per_address": "10000/minute",
        "login_rate_global": "10000/minute",
        "login_failures_per_account": "10000/minute",
        "login_failures_per_device": "10000/minute",
        "register_rate_per_address": "10000/minute",
        "register_rate_per_account": "10000/minute",
    }
    values.update(overrides)
    return ApiSettings(**values).overriding_environment(production=False)


@pytest.fixture()
def api_settings() -> ApiSettings:
    return make_settings(
        cors_origins="http://web.example.test", bench_endpoints=True, max_page_size=50
    )


@pytest.fixture()
def app(db_engine: Engine, api_settings: ApiSettings) -> FastAPI:
    return create_app(engine=db_engine, settings=api_settings)


@pytest.fixture()
def client(app: FastAPI, db_engine: Engine) -> Iterator[TestClient]:
    """A client on a clean database: every row is deleted after the test."""
    try:
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        truncate_all(db_engine)
