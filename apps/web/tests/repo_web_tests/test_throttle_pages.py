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
from repo_web.routes.auth import DEVICE_COOKIE
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
        # Changed with device cookies: this browser is now a trusted device of the user, whose
        # attempts count per address *and account*; forget it to be an untrusted client again.
        client.cookies.clear()
        assert post(client, "/login", {"email": "x@example.test", "password": "nope-nope"})
        _assert_throttled(post(client, "/login", {"email": user.email, "password": PASSWORD}))


def test_signup_is_throttled_per_address_and_per_account(clean: Engine) -> None:
    def form(n: int) -> dict[str, str]:
        return {"display_name": "N", "email": f"n{n}@example.test", "password": "long-enough"}

    with _client(clean, register_rate_per_address="2/hour") as client:
        assert location(post(client, "/signup", form(1))) == "/dashboard?notice=welcome"
        assert location(post(client, "/signup", form(2))) == "/dashboard?notice=welcome"
        _assert_throttled(post(client, "/signup", form(3)))
    with _client(clean, register_rate_per_account="1/hour") as client:
        assert location(post(client, "/signup", form(4))) == "/dashboard?notice=welcome"
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


def _device_set_cookie(response: httpx.Response) -> str:
    [header] = [
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith(f"{DEVICE_COOKIE}=")
    ]
    return header


def test_a_browser_that_logged_in_keeps_logging_in_after_30_wrong_passwords(clean: Engine) -> None:
    """OWASP device cookies: the attacker (another browser, the same address) gets 429 after
    the account's untrusted failures; the owner's browser, with its device cookie, logs in."""
    owner = make_user(clean)
    settings = WebSettings(
        secure_cookies=False,
        rate_limit_storage="memory://",
        login_rate_per_address="30/minute",
        login_failures_per_account="10 per 15 minutes",
    )
    app = create_app(engine=clean, settings=settings)
    with (
        TestClient(app, raise_server_exceptions=False, follow_redirects=False) as browser,
        TestClient(app, raise_server_exceptions=False, follow_redirects=False) as attacker,
    ):
        first = post(browser, "/login", {"email": owner.email, "password": PASSWORD})
        assert location(first) == "/dashboard"
        cookie = _device_set_cookie(first).lower()
        for attribute in ("httponly", "path=/login", f"max-age={365 * 24 * 3600}", "strict"):
            assert attribute in cookie, cookie
        assert owner.email.split("@")[0].lower() not in cookie
        assert post(browser, "/logout").status_code == 303

        statuses = [
            post(attacker, "/login", {"email": owner.email, "password": f"guess-{i}"}).status_code
            for i in range(30)
        ]
        assert statuses == [422] * 10 + [429] * 20
        _assert_throttled(post(attacker, "/login", {"email": owner.email, "password": PASSWORD}))
        # A made-up device cookie is no device: still untrusted.
        attacker.cookies.set(DEVICE_COOKIE, "made-up.cookie", path="/login")
        _assert_throttled(post(attacker, "/login", {"email": owner.email, "password": PASSWORD}))

        again = post(browser, "/login", {"email": owner.email, "password": PASSWORD})
        assert location(again) == "/dashboard", again.text[:300]
        assert browser.get("/dashboard").status_code == 200


def test_the_device_cookie_is_secure_when_cookies_are(clean: Engine) -> None:
    user = make_user(clean)
    settings = WebSettings(secure_cookies=True, rate_limit_storage="memory://")
    app = create_app(engine=clean, settings=settings)
    # https: the Secure CSRF cookie must come back for the form to be accepted.
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        response = post(client, "/login", {"email": user.email, "password": PASSWORD})
        assert location(response) == "/dashboard"
        assert "secure" in _device_set_cookie(response).lower()
