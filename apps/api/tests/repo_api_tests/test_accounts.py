"""Accounts: register, login, logout, current user, token expiry, admin user management."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from repo_api_tests.helpers import PASSWORD, assert_error, make_user
from repo_db import unit_of_work
from repo_db.models import AuthToken, Role, User
from repo_domain.signin import SIGN_UP_ACCEPTED
from repo_domain.tokens import hash_token
from repo_domain.validation import DISPLAY_NAME_MAX, SEARCH_QUERY_MAX


def test_register_signs_in_then_login_me_logout(client: TestClient, db_engine: Engine) -> None:
    body = {"email": " Ada@Example.com ", "password": "s3cret-pass", "display_name": "Ada"}
    created = client.post("/auth/register", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "signed_in"
    assert created.json()["user"]["email"] == "ada@example.com"
    assert created.json()["device_token"]
    assert "s3cret-pass" not in created.text and "argon2" not in created.text
    assert created.headers["cache-control"] == "no-store"
    signed_up = {"Authorization": f"Bearer {created.json()['access_token']}"}
    assert client.get("/users/me", headers=signed_up).json()["email"] == "ada@example.com"

    with unit_of_work(bind=db_engine) as session:
        stored = session.execute(
            select(User.id, User.password_hash, User.role).where(User.email == "ada@example.com")
        ).one()
    assert stored.password_hash.startswith("$argon2") and stored.role == Role.LEARNER
    user = {"id": stored.id}

    # A taken address: 202, the hedged message, no token and no word of "taken".
    again = client.post("/auth/register", json={**body, "password": "other-pass-1"})
    assert again.status_code == 202, again.text
    assert again.json() == {"status": "accepted", "message": SIGN_UP_ACCEPTED}
    other = make_user(db_engine)
    taken = client.post("/auth/register", json={**body, "email": other.email})
    assert (taken.status_code, taken.content) == (again.status_code, again.content)

    login = client.post("/auth/login", json={"email": "ADA@example.com", "password": "s3cret-pass"})
    assert login.status_code == 200, login.text
    assert login.headers["cache-control"] == "no-store"
    token = login.json()["access_token"]
    assert login.json()["token_type"] == "bearer"
    with unit_of_work(bind=db_engine) as session:
        hashes = set(
            session.scalars(select(AuthToken.token_hash).where(AuthToken.user_id == stored.id))
        )
    # only the hashes are stored, never the tokens
    assert hashes == {hash_token(token), hash_token(created.json()["access_token"])}

    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/users/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]

    assert client.post("/auth/logout", headers=headers).status_code == 204
    assert_error(client.get("/users/me", headers=headers), 401, "invalid_token")


def test_register_cannot_choose_role(client: TestClient, db_engine: Engine) -> None:
    body = {
        "email": "eve@example.com",
        "password": "eve-is-never-admin",
        "display_name": "Eve",
        "role": Role.ADMIN,
    }
    response = client.post("/auth/register", json=body)
    assert response.status_code == 201
    assert response.json()["user"]["role"] == Role.LEARNER
    with unit_of_work(bind=db_engine) as session:
        role = session.scalar(select(User.role).where(User.email == "eve@example.com"))
    assert role == Role.LEARNER


def _post_json(client: TestClient, url: str, body: dict[str, str]) -> Any:
    """json.dumps escapes lone surrogates (\\ud800), which httpx's own encoder refuses to send."""
    headers = {"Content-Type": "application/json"}
    return client.post(url, content=json.dumps(body), headers=headers)


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"email": "nope"}, "email", "invalid_email"),
        ({"email": "a\x00@b.co"}, "email", "invalid_email"),
        ({"password": "short"}, "password", "weak_password"),
        ({"password": "pass\x00word-long"}, "password", "invalid_text"),
        ({"password": "\ud800" * 10}, "password", "invalid_text"),
        ({"password": "x" * 100_000}, "password", "weak_password"),
        ({"display_name": ""}, "display_name", "required"),
        ({"display_name": "Ada\x00"}, "display_name", "invalid_text"),
        ({"display_name": "A" * (DISPLAY_NAME_MAX + 1)}, "display_name", "too_long"),
    ],
)
def test_register_refusals_come_from_the_domain_and_name_the_field(
    client: TestClient, db_engine: Engine, changes: dict[str, str], field: str, code: str
) -> None:
    """The schema only describes the shape; repo_domain decides (422 with `field`). Used to be
    one pydantic `validation_error` listing every field: the rules now live in one place."""
    body = {"email": "lovelace@example.org", "password": "analytical-engine", "display_name": "A"}
    error = assert_error(_post_json(client, "/auth/register", {**body, **changes}), 422, code)
    assert error["field"] == field
    with unit_of_work(read_only=True, bind=db_engine) as session:
        assert session.scalar(select(User.id)) is None


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("ada\x00@example.org", "analytical-engine", "email"),
        ("a" * 10_000 + "@example.org", "analytical-engine", "email"),
        ("ada@example.org", "pass\x00word", "password"),
        ("ada@example.org", "p" * 100_000, "password"),
        ("ada@example.org", "\udfff", "password"),
    ],
)
def test_login_input_that_cannot_be_a_credential_is_422(
    client: TestClient, email: str, password: str, field: str
) -> None:
    response = _post_json(client, "/auth/login", {"email": email, "password": password})
    assert assert_error(response, 422)["field"] == field


def test_login_failures_are_indistinguishable(client: TestClient, db_engine: Engine) -> None:
    user = make_user(db_engine)
    wrong = client.post("/auth/login", json={"email": user.email, "password": "wrong-password"})
    unknown = client.post("/auth/login", json={"email": "ghost@x.io", "password": PASSWORD})
    for response in (wrong, unknown):
        assert_error(response, 401, "invalid_credentials")
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert client.post("/auth/login", json={"email": user.email, "password": PASSWORD}).is_success


def test_me_requires_a_valid_unexpired_token(client: TestClient, db_engine: Engine) -> None:
    assert_error(client.get("/users/me"), 401, "not_authenticated")
    assert_error(client.get("/users/me", headers={"Authorization": "Bearer nope"}), 401)
    assert_error(client.get("/users/me", headers={"Authorization": "Basic abc"}), 401)
    expired = make_user(db_engine, ttl=timedelta(seconds=-1))
    assert_error(client.get("/users/me", headers=expired.headers), 401, "invalid_token")
    inactive = make_user(db_engine, is_active=False)
    assert_error(client.get("/users/me", headers=inactive.headers), 401, "invalid_token")
    ok = make_user(db_engine)
    assert client.get("/users/me", headers=ok.headers).json()["email"] == ok.email


def test_inactive_user_cannot_log_in(client: TestClient, db_engine: Engine) -> None:
    user = make_user(db_engine, is_active=False)
    response = client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert_error(response, 401, "invalid_credentials")


def test_logout_revokes_only_that_token(client: TestClient, db_engine: Engine) -> None:
    user = make_user(db_engine)
    login = client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    second = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert client.post("/auth/logout", headers=user.headers).status_code == 204
    assert_error(client.get("/users/me", headers=user.headers), 401)
    assert client.get("/users/me", headers=second).status_code == 200
    assert_error(client.post("/auth/logout"), 401)


def test_admin_user_list_is_admin_only(client: TestClient, db_engine: Engine) -> None:
    learner = make_user(db_engine)
    author = make_user(db_engine, role="author")
    assert_error(client.get("/admin/users"), 401)
    assert_error(client.get("/admin/users", headers=learner.headers), 403, "forbidden")
    assert_error(client.get("/admin/users", headers=author.headers), 403, "forbidden")
    admin = make_user(db_engine, role="admin")
    assert client.get("/admin/users", headers=admin.headers).status_code == 200


def test_admin_user_list_keyset_pagination_and_search(
    client: TestClient, db_engine: Engine
) -> None:
    admin = make_user(db_engine, role="admin")
    users = [make_user(db_engine) for _ in range(5)]
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        params: dict[str, int] = {"limit": 2}
        if after is not None:
            params["after"] = after
        page = client.get("/admin/users", params=params, headers=admin.headers).json()
        pages += 1
        seen.extend(item["id"] for item in page["items"])
        after = page["next_after"]
        if after is None:
            break
        assert after == page["items"][-1]["id"]
    assert pages == 3
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 6

    target = users[2]
    found = client.get("/admin/users", params={"q": target.email[:12]}, headers=admin.headers)
    assert [u["id"] for u in found.json()["items"]] == [target.id]
    # LIKE wildcards are matched literally, not as patterns.
    none = client.get("/admin/users", params={"q": "%"}, headers=admin.headers).json()
    assert none["items"] == []
    assert_error(client.get("/admin/users", params={"limit": 0}, headers=admin.headers), 422)


def test_admin_can_change_roles_but_not_lock_themselves_out(
    client: TestClient, db_engine: Engine
) -> None:
    admin = make_user(db_engine, role="admin")
    learner = make_user(db_engine)
    other = make_user(db_engine)
    url = f"/admin/users/{learner.id}"
    assert_error(client.patch(url, json={"role": "admin"}, headers=other.headers), 403)
    assert_error(client.patch(url, json={"role": "admin"}, headers=learner.headers), 403)
    promoted = client.patch(url, json={"role": "author"}, headers=admin.headers)
    assert promoted.status_code == 200 and promoted.json()["role"] == "author"
    assert_error(
        client.patch(f"/admin/users/{admin.id}", json={"role": "learner"}, headers=admin.headers),
        409,
        "self_lockout",
    )
    assert_error(client.patch("/admin/users/999999", json={}, headers=admin.headers), 404)
    deactivated = client.patch(url, json={"is_active": False}, headers=admin.headers)
    assert deactivated.json()["is_active"] is False
    assert_error(client.get("/users/me", headers=learner.headers), 401)


def test_admin_changes_are_in_the_audit_log(client: TestClient, db_engine: Engine) -> None:
    admin = make_user(db_engine, role="admin")
    learner = make_user(db_engine)
    url = f"/admin/users/{learner.id}"
    assert client.get(url, headers=admin.headers).json()["email"] == learner.email
    assert_error(client.get(url, headers=learner.headers), 403, "forbidden")
    client.patch(url, json={"role": "author"}, headers=admin.headers)
    client.patch(url, json={"role": "author"}, headers=admin.headers)  # no change: no line
    client.patch(url, json={"is_active": False}, headers=admin.headers)
    log = client.get(
        "/admin/audit-events",
        params={"subject": "user", "subject_id": learner.id},
        headers=admin.headers,
    ).json()
    assert [(e["action"], e["before"], e["after"]) for e in log["items"]] == [
        ("user.updated", {"is_active": True}, {"is_active": False}),
        ("user.updated", {"role": "learner"}, {"role": "author"}),
    ]
    assert {e["actor_email"] for e in log["items"]} == {admin.email}
    # Keyset pages, newest first.
    first = client.get(
        "/admin/audit-events", params={"limit": 1, "subject": "user"}, headers=admin.headers
    ).json()
    older = client.get(
        "/admin/audit-events",
        params={"limit": 1, "subject": "user", "after": first["next_after"]},
        headers=admin.headers,
    ).json()
    assert older["items"][0]["id"] < first["items"][0]["id"]
    assert_error(client.get("/admin/audit-events", headers=learner.headers), 401)
    assert_error(
        client.get("/admin/audit-events", params={"subject": "nope"}, headers=admin.headers), 422
    )


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ("ada\x00", "invalid_text"),
        ("x" * (SEARCH_QUERY_MAX + 1), "too_long"),
        ("a\x1b[0m", "invalid_text"),
    ],
)
def test_admin_search_refuses_what_the_domain_refuses(
    client: TestClient, db_engine: Engine, q: str, code: str
) -> None:
    """A NUL used to reach PostgreSQL (500 there); the domain now refuses it for both adapters."""
    admin = make_user(db_engine, role=Role.ADMIN)
    error = assert_error(
        client.get("/admin/users", params={"q": q}, headers=admin.headers), 422, code
    )
    assert error["field"] == "q"
    at_limit = client.get(
        "/admin/users", params={"q": "x" * SEARCH_QUERY_MAX}, headers=admin.headers
    )
    assert at_limit.status_code == 200 and at_limit.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"display_name": "Lea\x00"}, "display_name"),
        ({"display_name": "  "}, "display_name"),
        ({"display_name": "L" * (DISPLAY_NAME_MAX + 1)}, "display_name"),
    ],
)
def test_admin_user_changes_are_checked_by_the_domain(
    client: TestClient, db_engine: Engine, body: dict[str, str], field: str
) -> None:
    admin = make_user(db_engine, role=Role.ADMIN)
    learner = make_user(db_engine)
    response = client.patch(f"/admin/users/{learner.id}", json=body, headers=admin.headers)
    assert assert_error(response, 422)["field"] == field
    renamed = client.patch(
        f"/admin/users/{learner.id}", json={"display_name": " Lea "}, headers=admin.headers
    )
    assert renamed.status_code == 200 and renamed.json()["display_name"] == "Lea"
    assert_error(
        client.patch(f"/admin/users/{learner.id}", json={"role": "root"}, headers=admin.headers),
        422,
        "validation_error",  # not a Role: the schema's shape (an enum) refuses it
    )
