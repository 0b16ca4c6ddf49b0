"""Log-in and sign-up throttling in the web UI (repo_domain.throttle.Throttle, as in the API):
per client address and per account, a 429 HTML page with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from limits import parse
from sqlalchemy import Engine

from repo_db.testing import truncate_all
from repo_domain.throttle import ThrottleSettings
from repo_web.app import create_app
from repo_web.config import WebSettings
from repo_web_tests.helpers import PASSWORD, location, make_user, post


def _client(engine: Engine, **rates: str) -> TestClient:
    settings = WebSettings(secure_cookies=False, rate_limit_storage="memory://")
    settings = settings.model_copy(update=rates)
    return TestClient(
        create_app(engine=engine, settings=settings),
        raise_server_exceptions=False,
        follow_redirects=False,
    )


@pytest.fixture()
def clean(db_engine: Engine) -> Iterator[Engine]:
    try:
        yield db_engine
    finally:
        truncate_all(db_engine)


def _assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text[:300]
    assert "text/html" in response.headers["content-type"]
    assert "Too many attempts" in response.text
    assert 1 <= int(response.headers["retry-after"]) <= 3600


def test_login_failures_lock_the_account_not_the_others(clean: Engine) -> None:
    victim, other = make_user(clean), make_user(clean)
    with _client(clean, login_failures_per_account="3 per 15 minutes") as client:
        for _ in range(3):
            wrong = post(client, "/login", {"email": victim.email, "password": "wrong-guess"})
            assert wrong.status_code == 422
        # Even the right password now waits: guessing cannot go on against this account.
        _assert_throttled(post(client, "/login", {"email": victim.email, "password": PASSWORD}))
        _assert_throttled(
            post(client, "/login", {"email": victim.email.upper(), "password": PASSWORD})
        )
        assert location(post(client, "/login", {"email": other.email, "password": PASSWORD}))


def test_login_is_throttled_per_client_address(clean: Engine) -> None:
    user = make_user(clean)
    with _client(clean, login_rate_per_address="2/minute") as client:
        assert location(post(client, "/login", {"email": user.email, "password": PASSWORD}))
        client.cookies.delete("session")
        assert post(client, "/login", {"email": "x@example.test", "password": "nope-nope"})
        _assert_throttled(post(client, "/login", {"email": user.email, "password": PASSWORD}))


def test_signup_is_throttled_per_address_and_per_account(clean: Engine) -> None:
    def form(n: int) -> dict[str, str]:
        return {"display_name": "N", "email": f"n{n}@example.test", "password": "long-enough"}

    with _client(clean, register_rate_per_address="2/hour") as client:
        assert location(post(client, "/signup", form(1))) == "/login?registered=1"
        assert location(post(client, "/signup", form(2))) == "/login?registered=1"
        _assert_throttled(post(client, "/signup", form(3)))
    with _client(clean, register_rate_per_account="1/hour") as client:
        assert location(post(client, "/signup", form(4))) == "/login?registered=1"
        _assert_throttled(post(client, "/signup", {**form(4), "email": "N4@Example.test"}))


# The same variables (after the app's prefix) as repo_api_tests/test_security.py: the two apps
# read one settings class (repo_domain.throttle.ThrottleSettings), so they get the same rates.
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
        monkeypatch.setenv(f"WEB_{name}", value)
    settings = WebSettings()
    assert isinstance(settings, ThrottleSettings)
    throttle = create_app(engine=db_engine, settings=settings).state.throttle
    assert throttle.key_prefix == "shared-prefix"
    assert throttle.login_per_address == parse("7/minute")
    assert throttle.login_failures_per_account == parse("3 per 10 minutes")
    assert throttle.register_per_address == parse("4/hour")
    assert throttle.register_per_account == parse("2/hour")
