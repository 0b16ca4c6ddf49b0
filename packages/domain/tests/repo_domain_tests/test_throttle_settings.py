"""One throttle settings class: an app's prefix, the REDIS_URL fallback, production's refusal."""

from __future__ import annotations

import pytest
from limits import parse
from pydantic_settings import SettingsConfigDict

from repo_db import ConfigError
from repo_domain.throttle import ThrottleSettings, build_throttle


class AppSettings(ThrottleSettings):
    """How an app uses it (ApiSettings, WebSettings): its own prefix."""

    model_config = SettingsConfigDict(env_prefix="APP_")

    production: bool = False

    @property
    def is_production(self) -> bool:
        return self.production


def test_the_rates_come_from_the_apps_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_LOGIN_RATE_PER_ADDRESS", "7/minute")
    monkeypatch.setenv("APP_LOGIN_FAILURES_PER_ACCOUNT", "3 per 10 minutes")
    monkeypatch.setenv("APP_REGISTER_RATE_PER_ADDRESS", "4/hour")
    monkeypatch.setenv("APP_REGISTER_RATE_PER_ACCOUNT", "2/hour")
    monkeypatch.setenv("APP_RATE_LIMIT_KEY_PREFIX", "mine")
    monkeypatch.setenv("LOGIN_RATE_PER_ADDRESS", "1/minute")  # unprefixed: not ours
    throttle = build_throttle(AppSettings(rate_limit_storage="memory://"))
    assert throttle.login_per_address == parse("7/minute")
    assert throttle.login_failures_per_account == parse("3 per 10 minutes")
    assert throttle.register_per_address == parse("4/hour")
    assert throttle.register_per_account == parse("2/hour")
    assert throttle.key_prefix == "mine"


def test_storage_prefers_the_apps_variable_then_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_RATE_LIMIT_STORAGE", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    assert AppSettings().throttle_storage_uri == "redis://127.0.0.1:6379/3"
    monkeypatch.setenv("APP_RATE_LIMIT_STORAGE", "memory://")
    assert AppSettings().throttle_storage_uri == "memory://"


def test_production_refuses_to_start_without_a_shared_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("APP_RATE_LIMIT_STORAGE", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert AppSettings().throttle_storage_uri == "memory://"
    with pytest.raises(ConfigError, match="REDIS_URL .* or APP_RATE_LIMIT_STORAGE"):
        build_throttle(AppSettings(production=True))


def test_production_refuses_to_start_without_a_device_cookie_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("APP_DEVICE_COOKIE_SECRET", raising=False)
    settings = AppSettings(production=True, rate_limit_storage="memory://")
    with pytest.raises(ConfigError, match="APP_DEVICE_COOKIE_SECRET"):
        build_throttle(settings)
    with pytest.raises(ConfigError, match="too short"):
        _ = AppSettings(device_cookie_secret="short").device_cookie_key
    monkeypatch.setenv("APP_DEVICE_COOKIE_SECRET", "k" * 32)
    throttle = build_throttle(AppSettings(production=True, rate_limit_storage="memory://"))
    # The configured secret signs: another process with the same secret accepts the cookie.
    same = build_throttle(AppSettings(production=True, rate_limit_storage="memory://"))
    token = throttle.devices.issue(account="ada@example.com")
    assert same.devices.device(token, account="ada@example.com")
    assert "k" * 32 not in repr(AppSettings())  # a SecretStr: never printed


def test_development_gets_one_random_device_secret_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("APP_DEVICE_COOKIE_SECRET", raising=False)
    first, second = AppSettings(), AppSettings()
    assert first.device_cookie_key == second.device_cookie_key
    assert len(first.device_cookie_key) >= 32


def test_the_device_and_global_rates_come_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_LOGIN_RATE_GLOBAL", "50/minute")
    monkeypatch.setenv("APP_LOGIN_FAILURES_PER_DEVICE", "4 per 5 minutes")
    throttle = build_throttle(AppSettings(rate_limit_storage="memory://"))
    assert throttle.login_global == parse("50/minute")
    assert throttle.login_failures_per_device == parse("4 per 5 minutes")
    assert throttle.device_lockout.get_expiry() == 5 * 60
