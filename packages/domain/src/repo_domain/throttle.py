"""Login and registration throttling, shared by every process through the `limits` library.

Storage: Redis in production (`redis://...`, every API worker and web process counts in the same
windows), `memory://` for the one-process development default and tests. Moving windows, so a
burst at a window's edge cannot double the allowance.

Settings: `ThrottleSettings` is the one description of the throttle's configuration; each app's
settings class inherits it under its own environment prefix (`<APP>` is `API` or `WEB`), so the
variables are `<APP>_RATE_LIMIT_STORAGE` (else `REDIS_URL`), `<APP>_RATE_LIMIT_KEY_PREFIX`,
`<APP>_LOGIN_RATE_PER_ADDRESS`, `<APP>_LOGIN_FAILURES_PER_ACCOUNT`,
`<APP>_REGISTER_RATE_PER_ADDRESS` and `<APP>_REGISTER_RATE_PER_ACCOUNT`, and `build_throttle` is
the one way from settings to a `Throttle`.

Failure mode: fail CLOSED. When the storage cannot be reached, `check_*` raises
`ServiceUnavailable` (503 with Retry-After): logins and registrations pause, while everybody who
already holds a token goes on working, because token checks never touch Redis. Failing open would
switch brute-force protection off exactly when an attacker has managed to knock Redis over.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

import repo_db
from repo_db import ConfigError
from repo_domain.errors import ServiceUnavailable, TooManyRequests

# A Redis that does not answer within this many seconds counts as down (fail fast, not hang).
REDIS_TIMEOUT_S = 0.5


MEMORY_STORAGE = "memory://"


class ThrottleSettings(BaseSettings):
    """The log-in/sign-up throttle's settings, shared by every app that logs people in.

    An app's settings class inherits it and sets its `env_prefix` (``API_``, ``WEB_``); the rates
    are `limits` rate strings ("20/minute", "10 per 15 minutes"). Storage: `rate_limit_storage`
    (a `limits` URI), else ``REDIS_URL`` (read without a prefix), else ``memory://`` outside
    production; production refuses to start without a shared store.
    """

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    rate_limit_storage: str | None = None
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    # Both apps default to the API's prefix: on a shared Redis an account's failed log-ins count
    # the same whether they come through the API or the web UI.
    rate_limit_key_prefix: str = "repo_api"
    login_rate_per_address: str = "30/minute"
    login_failures_per_account: str = "10 per 15 minutes"
    register_rate_per_address: str = "10/hour"
    register_rate_per_account: str = "5/hour"

    @property
    def is_production(self) -> bool:
        """repo_db's decision; an app's settings may override it (tests)."""
        return repo_db.settings.is_production

    @property
    def throttle_storage_uri(self) -> str:
        storage = self.rate_limit_storage or self.redis_url
        if storage:
            return storage
        if self.is_production:
            prefix = self.model_config.get("env_prefix", "")
            raise ConfigError(
                "production needs a shared throttle store: set REDIS_URL (e.g. "
                f"redis://127.0.0.1:6379/0) or {prefix}RATE_LIMIT_STORAGE"
            )
        return MEMORY_STORAGE


@dataclass(frozen=True, slots=True)
class ThrottleRates:
    """`limits` rate strings, e.g. "20/minute", "10 per 15 minutes"."""

    login_per_address: str = "30/minute"
    login_failures_per_account: str = "10 per 15 minutes"
    register_per_address: str = "10/hour"
    register_per_account: str = "5/hour"


class Throttle:
    """Counts attempts per client address and per account (normalised email)."""

    def __init__(self, storage_uri: str, *, rates: ThrottleRates, key_prefix: str) -> None:
        options: dict[str, float | str | bool] = {}
        if storage_uri.startswith(("redis://", "rediss://", "redis+unix://")):
            options = {
                "socket_timeout": REDIS_TIMEOUT_S,
                "socket_connect_timeout": REDIS_TIMEOUT_S,
                "key_prefix": key_prefix,
            }
        storage = storage_from_string(storage_uri, wrap_exceptions=True, **options)
        if not isinstance(storage, Storage):  # an async:// URI: this code calls it synchronously
            raise ValueError(f"not a synchronous `limits` storage: {type(storage).__name__}")
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.key_prefix = key_prefix
        self.login_per_address: RateLimitItem = parse(rates.login_per_address)
        self.login_failures_per_account: RateLimitItem = parse(rates.login_failures_per_account)
        self.register_per_address: RateLimitItem = parse(rates.register_per_address)
        self.register_per_account: RateLimitItem = parse(rates.register_per_account)

    def _retry_after(self, item: RateLimitItem, *ids: str) -> int:
        reset_at = self.limiter.get_window_stats(item, self.key_prefix, *ids).reset_time
        return max(1, math.ceil(reset_at - time.time()))

    def _hit(self, item: RateLimitItem, *ids: str, what: str) -> None:
        if not self.limiter.hit(item, self.key_prefix, *ids):
            raise TooManyRequests(
                f"too many {what} attempts; try again later",
                retry_after=self._retry_after(item, *ids),
            )

    def _test(self, item: RateLimitItem, *ids: str, what: str) -> None:
        if not self.limiter.test(item, self.key_prefix, *ids):
            raise TooManyRequests(
                f"too many {what} attempts; try again later",
                retry_after=self._retry_after(item, *ids),
            )

    def check_login(self, *, address: str, account: str) -> None:
        """Before Argon2: every attempt counts per address; the account's failures are checked."""
        try:
            self._hit(self.login_per_address, "login-address", address, what="login")
            self._test(self.login_failures_per_account, "login-account", account, what="login")
        except StorageError as exc:
            raise ServiceUnavailable("login is paused: the rate limiter is unreachable") from exc

    def login_failed(self, *, account: str) -> None:
        """After a wrong password: one more failure against the account."""
        try:
            self.limiter.hit(
                self.login_failures_per_account, self.key_prefix, "login-account", account
            )
        except StorageError as exc:
            raise ServiceUnavailable("login is paused: the rate limiter is unreachable") from exc

    def check_register(self, *, address: str, account: str) -> None:
        try:
            self._hit(self.register_per_address, "register-address", address, what="registration")
            self._hit(self.register_per_account, "register-account", account, what="registration")
        except StorageError as exc:
            raise ServiceUnavailable(
                "registration is paused: the rate limiter is unreachable"
            ) from exc


def build_throttle(settings: ThrottleSettings) -> Throttle:
    """The one way from settings to a throttle (both apps call it at start-up)."""
    return Throttle(
        settings.throttle_storage_uri,
        rates=ThrottleRates(
            login_per_address=settings.login_rate_per_address,
            login_failures_per_account=settings.login_failures_per_account,
            register_per_address=settings.register_rate_per_address,
            register_per_account=settings.register_rate_per_account,
        ),
        key_prefix=settings.rate_limit_key_prefix,
    )
