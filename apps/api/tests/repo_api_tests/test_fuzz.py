"""Property-based fuzz: requests built from the app's own OpenAPI document never yield a 5xx.

Each example picks an operation, fills its path/query parameters and JSON body either from the
schema (mostly valid, reaching the domain code) or as arbitrary JSON/junk (reaching validation),
and sends it as a random caller (anonymous, learner, author, admin).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, update

from repo_api_tests.helpers import ApiUser, create_assessment, make_user
from repo_db import unit_of_work
from repo_db.models import AuthToken, User
from repo_domain.tokens import hash_token

MAX_EXAMPLES = 120

_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
arbitrary_json = st.recursive(
    _json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
nasty_text = st.sampled_from(
    ["", " ", "\x00", "\ud800", "%", "_", "'; DROP TABLE users;--", "é" * 300]
)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def from_schema(
    spec: dict[str, Any], schema: dict[str, Any], ids: list[int], depth: int = 0
) -> Any:
    """A small JSON-Schema-to-strategy converter, biased toward edge values and real ids."""
    schema = _resolve(spec, schema)
    if depth > 5:
        return st.none()
    if "anyOf" in schema:
        return st.one_of([from_schema(spec, s, ids, depth + 1) for s in schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: from_schema(spec, v, ids, depth + 1) for k, v in props.items() if k in required},
            optional={
                k: from_schema(spec, v, ids, depth + 1)
                for k, v in props.items()
                if k not in required
            },
        )
    if kind == "array":
        return st.lists(from_schema(spec, schema.get("items", {}), ids, depth + 1), max_size=5)
    if kind == "integer":
        return st.sampled_from(ids) | st.integers(min_value=-(2**70), max_value=2**70)
    if kind == "number":
        return st.floats(-100, 100) | st.floats(allow_nan=False) | st.integers(-(10**20), 10**20)
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        plain = st.text(alphabet="abcxyz 019@.", min_size=1, max_size=20)
        return plain | plain | st.emails() | nasty_text | st.text(max_size=40)
    return arbitrary_json


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"} and path != "/readyz"
    ]  # /readyz answers 503 by design when the database is not ready (see test_operations)


@pytest.fixture()
def world(client: TestClient, db_engine: Engine) -> dict[str, Any]:
    """Real rows so generated ids sometimes hit existing objects."""
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    admin = make_user(db_engine, role="admin")
    assessment = create_assessment(client, author)
    attempt = client.post(f"/assessments/{assessment['id']}/attempts", headers=learner.headers)
    ids = [1, 2, assessment["id"], attempt.json()["id"], learner.id, author.id]
    ids += [q["id"] for q in assessment["questions"]]
    ids += [o["id"] for q in assessment["questions"] for o in q["options"]]
    callers: list[ApiUser | None] = [None, learner, author, admin]
    return {"ids": ids, "callers": callers, "engine": db_engine}


def _revive(engine: Engine, callers: list[ApiUser | None]) -> None:
    """Examples may log a caller out or deactivate it: restore it so later examples pass auth."""
    now = datetime.now(UTC)
    with unit_of_work(bind=engine) as session:
        for caller in callers:
            if caller is None:
                continue
            session.execute(
                update(AuthToken)
                .where(AuthToken.token_hash == hash_token(caller.token))
                .values(revoked_at=None, expires_at=now + timedelta(hours=1))
            )
            session.execute(
                update(User).where(User.id == caller.id).values(is_active=True, role=caller.role)
            )


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_server_errors(client: TestClient, world: dict[str, Any], data: st.DataObject) -> None:
    spec = client.get("/openapi.json").json()
    _revive(world["engine"], world["callers"])
    method, path, operation = data.draw(st.sampled_from(_operations(spec)), label="operation")
    ids: list[int] = world["ids"]
    url = path
    params: dict[str, Any] = {}
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        valueish = from_schema(spec, schema, ids) | st.text(max_size=12)
        if parameter["in"] == "path":
            real = st.sampled_from(ids)
            value = data.draw(real | real | real | valueish, label=parameter["name"])
            url = url.replace("{" + parameter["name"] + "}", quote(str(value), safe=""))
        elif parameter["in"] == "query" and data.draw(st.booleans()):
            params[parameter["name"]] = data.draw(valueish, label=parameter["name"])
    kwargs: dict[str, Any] = {"params": params}
    body = operation.get("requestBody")
    if body is not None and "application/json" in body["content"]:
        schema = body["content"]["application/json"]["schema"]
        typed = from_schema(spec, schema, ids)
        kwargs["json"] = data.draw(typed | typed | typed | arbitrary_json, label="body")
    elif body is not None:  # an upload (multipart/form-data): arbitrary bytes in each file field
        form = body["content"]["multipart/form-data"]["schema"]
        if "$ref" in form:
            form = spec["components"]["schemas"][form["$ref"].rsplit("/", 1)[1]]
        kwargs["files"] = {
            name: ("upload", data.draw(st.binary(max_size=4096), label=name))
            for name in form.get("properties", {})
        }
    caller = data.draw(st.sampled_from(world["callers"]), label="caller")
    if caller is not None:
        kwargs["headers"] = caller.headers
    try:
        response = client.request(method, url, **kwargs)
    except (UnicodeEncodeError, ValueError, httpx.InvalidURL):
        return  # httpx itself refused the generated URL/params: nothing reached the app
    event(f"{method} {path} -> {response.status_code}")
    assert response.status_code < 500, (method, url, kwargs, response.text)
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}
