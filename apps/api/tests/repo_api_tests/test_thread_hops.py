"""Sync dependencies cost a thread-pool hop each; the API keeps to the one that does I/O."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from repo_api.deps import get_session


def _runs_on_event_loop(call: object) -> bool:
    dunder_call = type(call).__call__  # e.g. an HTTPBearer instance: its method decides
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(dunder_call)


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI >= 0.16x keeps the router
        if included is not None:
            yield from _api_routes(included.routes)


def _sync_dependencies(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield from _sync_dependencies(sub)
        if sub.call is not None and not _runs_on_event_loop(sub.call):
            yield sub.call


def test_get_session_is_the_only_sync_dependency(app: FastAPI) -> None:
    routes = list(_api_routes(app.routes))
    assert len(routes) > 20
    offenders = {
        f"{route.path}: {getattr(call, '__qualname__', call)}"
        for route in routes
        for call in _sync_dependencies(route.dependant)
        if call is not get_session
    }
    assert offenders == set()


def test_bearer_scheme_is_declared_only_where_a_token_is_needed(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "security" in paths["/users/me"]["get"]
    assert "security" in paths["/admin/users"]["get"]
    assert "security" not in paths["/auth/login"]["post"]
    assert "security" not in paths["/auth/register"]["post"]
