"""Web-only settings. Database settings (and what "production" means) live in repo_db."""

from __future__ import annotations

import secrets
from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

import repo_db
from repo_db import ConfigError
from repo_domain.throttle import Throttle, ThrottleRates


class WebSettings(BaseSettings):
    """Settings read from `WEB_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore")

    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    # Cookies carry `Secure` (HTTPS only) in production; None = decide from repo_db's environment.
    secure_cookies: bool | None = None
    page_size: int = Field(default=25, ge=1, le=200)
    # Log-in/sign-up throttle storage (a `limits` URI). Unset: REDIS_URL when set, else memory://
    # in development; production refuses to start without Redis (or an explicit URI).
    rate_limit_storage: str | None = Field(
        default=None, validation_alias=AliasChoices("WEB_RATE_LIMIT_STORAGE", "REDIS_URL")
    )
    # The API's prefix by default: on a shared Redis, an account's failed log-ins count the same
    # whether they come through the API or the web UI.
    rate_limit_key_prefix: str = "repo_api"
    login_rate_per_address: str = "30/minute"
    login_failures_per_account: str = "10 per 15 minutes"
    register_rate_per_address: str = "10/hour"
    register_rate_per_account: str = "5/hour"

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return repo_db.settings.is_production

    @property
    def throttle_storage_uri(self) -> str:
        if self.rate_limit_storage:
            return self.rate_limit_storage
        if repo_db.settings.is_production:
            raise ConfigError(
                "production needs a shared throttle store: set REDIS_URL (e.g. "
                "redis://127.0.0.1:6379/0) or WEB_RATE_LIMIT_STORAGE"
            )
        return "memory://"

    def build_throttle(self) -> Throttle:
        return Throttle(
            self.throttle_storage_uri,
            rates=ThrottleRates(
                login_per_address=self.login_rate_per_address,
                login_failures_per_account=self.login_failures_per_account,
                register_per_address=self.register_rate_per_address,
                register_per_account=self.register_rate_per_account,
            ),
            key_prefix=self.rate_limit_key_prefix,
        )


@lru_cache(maxsize=1)
def get_settings() -> WebSettings:
    return WebSettings()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)
