"""Web-only settings. Database settings (and what "production" means) live in repo_db."""

from __future__ import annotations

import secrets
from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

import repo_db
from repo_domain.throttle import ThrottleSettings


class WebSettings(ThrottleSettings):
    """Settings read from `WEB_*` environment variables.

    The log-in/sign-up throttle's settings are `repo_domain.throttle.ThrottleSettings` (inherited,
    so `WEB_RATE_LIMIT_STORAGE` or `REDIS_URL`, `WEB_LOGIN_RATE_PER_ADDRESS`, ...). Their key
    prefix defaults to the API's, so on a shared Redis an account's failed log-ins count the same
    whether they come through the API or the web UI.
    """

    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore")

    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    # Cookies carry `Secure` (HTTPS only) in production; None = decide from repo_db's environment.
    secure_cookies: bool | None = None
    page_size: int = Field(default=25, ge=1, le=200)
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated IPs
    # or networks, "*" for any). Unset: nobody, so the address the throttle counts is the TCP
    # peer's; uvicorn's own default would trust 127.0.0.1, i.e. any client on the same host.
    forwarded_allow_ips: str = Field(default="", validation_alias="FORWARDED_ALLOW_IPS")

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return repo_db.settings.is_production

    @property
    def trusts_proxy(self) -> bool:
        """Whether uvicorn should read proxy headers at all (FORWARDED_ALLOW_IPS is set)."""
        return bool(self.forwarded_allow_ips.strip())


@lru_cache(maxsize=1)
def get_settings() -> WebSettings:
    return WebSettings()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)
