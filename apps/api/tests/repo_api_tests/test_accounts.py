"""Accounts: register, login, logout, current user, token expiry, admin user management."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from repo_api_tests.helpers import PASSWORD, assert_error, make_user
from repo_db import unit_of_work
from repo_db.models import AuthToken, User
from repo_domain.tokens import hash_token


def test_register_login_me_logout(client: TestClient, db_engine: Engine) -> None:
    body = {"email": " Ada@Example.com ", "password": "s3cret-pass", "display_name": "Ada"}
    created = client.post("/auth/register", json=body)
    assert created.status_code == 202, created.text
    assert created.json()["status"] == "accepted"
    assert "s3cret-pass" not in created.text and "argon2" not in created.text
    assert created.headers["cache-control"] == "no-store"

    with unit_of_work(bind=db_engine) as session:
        stored = session.execute(
            select(User.id, User.password_hash, User.role).where(User.email == "ada@example.com")
        ).one()
    assert stored.password_hash.startswith("$argon2") and stored.role == "learner"
    user = {"id": stored.id}

    # The same answer for a taken address: registration does not reveal who has an account.
    again = client.post("/auth/register", json=body)
    assert (again.status_code, again.json()) == (created.status_code, created.json())

    login = client.post("/auth/login", json={"email": "ADA@example.com", "password": "s3cret-pass"})
    assert login.status_code == 200, login.text
    assert login.headers["cache-control"] == "no-store"
    token = login.json()["access_token"]
    assert login.json()["token_type"] == "bearer"
    with unit_of_work(bind=db_engine) as session:
        hashes = list(session.scalars(select(AuthToken.token_hash)))
    assert hashes == [hash_token(token)]  # only the hash is stored, never the token

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
        "role": "admin",
    }
    response = client.post("/auth/register", json=body)
    assert response.status_code == 202
    with unit_of_work(bind=db_engine) as session:
        role = session.scalar(select(User.role).where(User.email == "eve@example.com"))
    assert role == "learner"


def test_register_validation_errors(client: TestClient) -> None:
    error = assert_error(
        client.post(
            "/auth/register", json={"email": "nope", "password": "short", "display_name": ""}
        ),
        422,
        "validation_error",
    )
    fields = {tuple(d["loc"])[-1] for d in error["details"]}
    assert {"email", "password", "display_name"} <= fields
    bad = {"email": "a@b.co", "password": "pass\x00word", "display_name": "x"}
    assert_error(client.post("/auth/register", json=bad), 422, "validation_error")


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
