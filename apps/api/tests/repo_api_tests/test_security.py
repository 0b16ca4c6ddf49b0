"""Security and production safety (issue 10): throttling against real Redis, Argon2 outside the
unit of work, password rehash, email normalisation, password policy, body limit, headers,
production defaults (CORS, docs, --seed)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from limits import parse
from sqlalchemy import Engine, select

import repo_domain.accounts
from repo_api.app import create_app
from repo_api.config import ApiSettings
from repo_api_tests.conftest import make_settings
from repo_api_tests.helpers import PASSWORD, assert_error, make_user
from repo_db import ConfigError, build_engine, unit_of_work
from repo_db.config import DbSettings
from repo_db.models import User
from repo_db.security import needs_rehash
from repo_db.testing import truncate_all
from repo_domain.throttle import ThrottleSettings

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture()
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own, removed afterwards: tests never share windows."""
    prefix = f"repo-api-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    connection = redis.Redis.from_url(REDIS_URL)
    keys = list(connection.scan_iter(f"*{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


def _client(db_engine: Engine, settings: ApiSettings) -> TestClient:
    return TestClient(
        create_app(engine=db_engine, settings=settings), raise_server_exceptions=False
    )


DEVICE_SECRET = "a-device-cookie-secret-of-32-chars!"


def _login(client: TestClient, email: str, password: str) -> Any:
    return client.post("/auth/login", json={"email": email, "password": password})


def test_brute_force_on_one_account_is_throttled_in_redis(
    db_engine: Engine, redis_prefix: str
) -> None:
    settings = make_settings(
        rate_limit_storage=REDIS_URL,
        rate_limit_key_prefix=redis_prefix,
        login_failures_per_account="5 per 15 minutes",
    )
    victim = make_user(db_engine)
    bystander = make_user(db_engine)
    try:
        with _client(db_engine, settings) as client:
            statuses = [_login(client, victim.email, f"guess-{i}").status_code for i in range(5)]
            assert statuses == [401] * 5
            # The right password no longer helps: the account is throttled, in Redis.
            blocked = _login(client, victim.email.upper(), PASSWORD)
            assert_error(blocked, 429, "too_many_requests")
            assert 1 <= int(blocked.headers["retry-after"]) <= 15 * 60
            assert _login(client, bystander.email, PASSWORD).status_code == 200
        keys = redis.Redis.from_url(REDIS_URL).keys(f"*{redis_prefix}*")
        assert keys, "the windows live in Redis, shared by every process"
    finally:
        truncate_all(db_engine)


def test_login_and_registration_are_throttled_per_address(
    db_engine: Engine, redis_prefix: str
) -> None:
    settings = make_settings(
        rate_limit_storage=REDIS_URL,
        rate_limit_key_prefix=redis_prefix,
        login_rate_per_address="4/minute",
        register_rate_per_address="2/minute",
    )
    try:
        with _client(db_engine, settings) as client:
            statuses = [
                _login(client, f"someone{i}@example.org", "whatever-pass").status_code
                for i in range(6)
            ]
            assert statuses == [401] * 4 + [429] * 2
            bodies = [
                {
                    "email": f"new{i}@example.org",
                    "password": "a-fine-passphrase",
                    "display_name": "N",
                }
                for i in range(3)
            ]
            codes = [client.post("/auth/register", json=b).status_code for b in bodies]
            assert codes == [201, 201, 429]
    finally:
        truncate_all(db_engine)


def test_an_unreachable_rate_limiter_pauses_login_only(db_engine: Engine) -> None:
    """Fail closed: login and registration answer 503 quickly, token holders go on working."""
    user = make_user(db_engine)
    settings = make_settings(rate_limit_storage=DEAD_REDIS_URL)
    try:
        with _client(db_engine, settings) as client:
            response = _login(client, user.email, PASSWORD)
            assert_error(response, 503, "unavailable")
            assert response.headers["retry-after"]
            body = {"email": "x@example.org", "password": "a-fine-passphrase", "display_name": "X"}
            assert_error(client.post("/auth/register", json=body), 503, "unavailable")
            assert client.get("/users/me", headers=user.headers).status_code == 200
    finally:
        truncate_all(db_engine)


def test_production_refuses_to_start_without_a_shared_throttle_store(db_engine: Engine) -> None:
    with pytest.raises(Exception, match="REDIS_URL"):
        create_app(engine=db_engine, settings=ApiSettings().overriding_environment(production=True))


def test_production_refuses_to_start_without_a_device_cookie_secret(db_engine: Engine) -> None:
    settings = ApiSettings(rate_limit_storage="memory://").overriding_environment(production=True)
    with pytest.raises(ConfigError, match="API_DEVICE_COOKIE_SECRET"):
        create_app(engine=db_engine, settings=settings)


def test_a_trusted_device_logs_in_while_guessers_are_throttled_in_redis(
    db_engine: Engine, redis_prefix: str
) -> None:
    """OWASP device cookies: the login response's `device_token`, sent back in the body of a
    later login, keeps the owner logging in after 30 wrong passwords from the same address."""
    settings = make_settings(
        rate_limit_storage=REDIS_URL,
        rate_limit_key_prefix=redis_prefix,
        login_rate_per_address="30/minute",
        login_failures_per_account="10 per 15 minutes",
        login_failures_per_device="10 per 15 minutes",
    )
    owner = make_user(db_engine)
    try:
        with _client(db_engine, settings) as client:
            first = _login(client, owner.email, PASSWORD)
            assert first.status_code == 200, first.text
            device_token = first.json()["device_token"]
            assert owner.email.split("@")[0] not in device_token
            statuses = [_login(client, owner.email, f"guess-{i}").status_code for i in range(30)]
            assert statuses == [401] * 10 + [429] * 20
            assert_error(_login(client, owner.email, PASSWORD), 429, "too_many_requests")
            forged = device_token[:-3] + ("AAA" if not device_token.endswith("AAA") else "BBB")
            for presented in (forged, "not-a-device-token"):
                body = {"email": owner.email, "password": PASSWORD, "device_token": presented}
                assert_error(client.post("/auth/login", json=body), 429, "too_many_requests")
            trusted = {"email": owner.email, "password": PASSWORD, "device_token": device_token}
            back = client.post("/auth/login", json=trusted)
            assert back.status_code == 200, back.text
            assert back.json()["user"]["email"] == owner.email
            assert back.json()["device_token"] != device_token
            typo = client.post("/auth/login", json={**trusted, "password": "owner-typo"})
            assert_error(typo, 401, "invalid_credentials")
    finally:
        truncate_all(db_engine)


# The same variables (after the app's prefix) as repo_web_tests/test_throttle_pages.py: the two
# apps read one settings class (repo_domain.throttle.ThrottleSettings), so they get the same rates.
THROTTLE_ENV = {
    "RATE_LIMIT_STORAGE": "memory://",
    "RATE_LIMIT_KEY_PREFIX": "shared-prefix",
    "LOGIN_RATE_PER_ADDRESS": "7/minute",
    "LOGIN_FAILURES_PER_ACCOUNT": "3 per 10 minutes",
    "REGISTER_RATE_PER_ADDRESS": "4/hour",
    "REGISTER_RATE_PER_ACCOUNT": "2/hour",
}


def test_the_throttle_comes_from_the_shared_settings_class(
    db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in THROTTLE_ENV.items():
        monkeypatch.setenv(f"API_{name}", value)
    settings = ApiSettings().overriding_environment(production=False)
    assert isinstance(settings, ThrottleSettings)
    throttle = create_app(engine=db_engine, settings=settings).state.throttle
    assert throttle.key_prefix == "shared-prefix"
    assert throttle.login_per_address == parse("7/minute")
    assert throttle.login_failures_per_account == parse("3 per 10 minutes")
    assert throttle.register_per_address == parse("4/hour")
    assert throttle.register_per_account == parse("2/hour")


def test_argon2_runs_with_no_connection_checked_out(
    client: TestClient, db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Instrumentation, not a mock: the real verify runs, we record the pool while it does."""
    user = make_user(db_engine)
    checked_out: list[int] = []
    real_verify = repo_domain.accounts.verify_password

    def recording_verify(password_hash: str, plain: str) -> bool:
        checked_out.append(db_engine.pool.checkedout())  # type: ignore[attr-defined]
        return real_verify(password_hash, plain)

    monkeypatch.setattr(repo_domain.accounts, "verify_password", recording_verify)
    assert _login(client, user.email, PASSWORD).status_code == 200
    assert _login(client, user.email, "wrong-password").status_code == 401
    assert checked_out == [0, 0]


def test_a_weaker_stored_hash_is_upgraded_on_login(client: TestClient, db_engine: Engine) -> None:
    user = make_user(db_engine)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    assert needs_rehash(weak)
    with unit_of_work(bind=db_engine) as session:
        session.get_one(User, user.id).password_hash = weak
    assert _login(client, user.email, "wrong-password").status_code == 401
    with unit_of_work(read_only=True, bind=db_engine) as session:
        assert session.get_one(User, user.id).password_hash == weak  # only a right password
    assert _login(client, user.email, PASSWORD).status_code == 200
    with unit_of_work(read_only=True, bind=db_engine) as session:
        upgraded = session.get_one(User, user.id).password_hash
    assert upgraded != weak and not needs_rehash(upgraded)
    assert _login(client, user.email, PASSWORD).status_code == 200


def test_emails_are_normalised_and_look_alikes_refused(
    client: TestClient, db_engine: Engine
) -> None:
    body = {"email": "Ada@Example.com", "password": "analytical-engine", "display_name": "Ada"}
    assert client.post("/auth/register", json=body).status_code == 201
    # Full-width letters are the same address after NFKC: no second account (taken: 202).
    fullwidth = {
        **body,
        "email": "\uff41\uff44\uff41@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",
    }
    assert client.post("/auth/register", json=fullwidth).status_code == 202
    assert _login(client, "\uff21\uff24\uff21@example.com", "analytical-engine").status_code == 200
    # Cyrillic a (U+0430), Greek omicron and Cyrillic er look like Latin letters: refused.
    for look_alike in ("\u0430da@example.com", "ada@ex\u03bfmple.com", "ada@exam\u0440le.com"):
        assert_error(client.post("/auth/register", json={**body, "email": look_alike}), 422)
    with unit_of_work(read_only=True, bind=db_engine) as session:
        emails = list(session.scalars(select(User.email)))
    assert emails == ["ada@example.com"]
    for invalid in ("ada@", "@example.com", "a..b@example.com", "ada@-x.com", "ada@example"):
        assert_error(client.post("/auth/register", json={**body, "email": invalid}), 422)


@pytest.mark.parametrize(
    "password",
    [" " * 8, "\t \u3000" * 4, "password123", "Password1!", "qwertyuiop", "aaaaaaaaaaaa", "short"],
)
def test_weak_passwords_are_refused(client: TestClient, password: str) -> None:
    body = {"email": "weak@example.org", "password": password, "display_name": "W"}
    assert_error(client.post("/auth/register", json=body), 422)


def test_password_equal_to_the_email_is_refused(client: TestClient) -> None:
    body = {"email": "lovelace@example.org", "password": "lovelace", "display_name": "L"}
    assert_error(client.post("/auth/register", json=body), 422, "weak_password")


def test_request_bodies_are_limited_while_they_stream(db_engine: Engine) -> None:
    settings = make_settings(max_body_bytes=64 * 1024)
    with _client(db_engine, settings) as client:
        big = b'{"email": "' + b"a" * (128 * 1024) + b'"}'
        declared = client.post(
            "/auth/register", content=big, headers={"Content-Type": "application/json"}
        )
        assert_error(declared, 413, "payload_too_large")
        assert declared.headers["x-content-type-options"] == "nosniff"

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
            yield b'{"email": "'
            for _ in range(64):
                yield b"a" * 4096
            yield b'"}'

        streamed = client.post(
            "/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in streamed.request.headers
        assert_error(streamed, 413, "payload_too_large")
        small = client.post("/auth/login", json={"email": "a@b.io", "password": "x" * 100})
        assert small.status_code == 401


def test_security_headers_on_every_response(client: TestClient, db_engine: Engine) -> None:
    user = make_user(db_engine)
    for response in (
        client.get("/healthz"),
        client.get("/users/me", headers=user.headers),
        client.get("/no/such/route"),
        _login(client, user.email, "wrong-password"),
    ):
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in headers  # development
    docs = client.get("/docs")
    assert (
        docs.status_code == 200
        and "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    )


def test_production_defaults_close_cors_and_docs(db_engine: Engine) -> None:
    settings = ApiSettings(
        rate_limit_storage="memory://", device_cookie_secret=DEVICE_SECRET
    ).overriding_environment(production=True)
    with _client(db_engine, settings) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert_error(client.get(path), 404)
        preflight = client.options(
            "/users/me",
            headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in preflight.headers
        health = client.get("/healthz", headers={"Origin": "http://localhost:3000"})
        assert "access-control-allow-origin" not in health.headers
        assert health.headers["strict-transport-security"].startswith("max-age=")
    opened = ApiSettings(
        rate_limit_storage="memory://",
        device_cookie_secret=DEVICE_SECRET,
        docs_enabled=True,
        cors_origins="https://app.example.org",
    ).overriding_environment(production=True)
    with _client(db_engine, opened) as client:
        assert client.get("/openapi.json").status_code == 200
        allowed = client.get("/healthz", headers={"Origin": "https://app.example.org"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"


def test_an_exhausted_pool_answers_503(db_engine: Engine) -> None:
    if db_engine.dialect.name == "sqlite":
        pytest.skip("repo_db sizes the pool on PostgreSQL only (SQLite keeps SQLAlchemy's)")
    user = make_user(db_engine)
    tiny = build_engine(
        db_engine.url,
        settings=DbSettings(
            db_pool_size=1,
            db_max_overflow=0,
            db_pool_timeout=0.5,
            db_connect_retries=0,
            db_log_queries=False,
            node_env="test",
        ),
    )
    try:
        with TestClient(
            create_app(engine=tiny, settings=make_settings()), raise_server_exceptions=False
        ) as client:
            assert client.get("/users/me", headers=user.headers).status_code == 200
            with tiny.connect():  # the only connection
                response = client.get("/users/me", headers=user.headers)
            assert_error(response, 503, "unavailable")
            assert response.headers["retry-after"]
    finally:
        tiny.dispose()
        truncate_all(db_engine)


def test_seed_is_refused_in_production(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "APP_ENV"))}
    env.update(
        NODE_ENV="production",
        # PostgreSQL (SQLite is refused in production by itself), unreachable: nothing may touch it.
        DATABASE_URL="postgresql://app@127.0.0.1:1/none",
        REDIS_URL=REDIS_URL,
        API_DEVICE_COOKIE_SECRET=DEVICE_SECRET,  # a complete production set-up but for --seed
        PYTHONPATH=os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
    )
    done = subprocess.run(
        [sys.executable, "-m", "repo_api", "--seed", "--no-migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refusing --seed in production" in done.stderr
    assert "Traceback" not in done.stderr  # refused before any connection was tried
