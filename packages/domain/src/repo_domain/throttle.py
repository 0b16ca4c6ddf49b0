"""Login and registration throttling, shared by every process through the `limits` library.

Storage: Redis in production (`redis://...`, every API worker and web process counts in the same
windows), `memory://` for the one-process development default and tests. Moving windows, so a
burst at a window's edge cannot double the allowance.

Log-in policy (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a client that has
logged in to an account before holds a *device cookie* for it (`repo_domain.device_cookies`).

* Every attempt counts against the client address (`login_rate_per_address`): an untrusted
  one in the address's window, a trusted one in the window of the address and account.
* A valid device cookie of the account, not on the lockout list, makes the attempt *trusted*:
  its failures count against that device only (`login_failures_per_device`); the device that
  reaches the limit goes on the lockout list for the window's length and is untrusted meanwhile.
  Trusted attempts ignore the account's untrusted lockout, so guessing from elsewhere can never
  lock the owner's browser or API client out.
* Any other attempt is *untrusted*: it counts against the global untrusted limit
  (`login_rate_global`) and is refused (429, even with the right password) while the account's
  untrusted failures (`login_failures_per_account`) are at their limit; its failures count there.

Settings: `ThrottleSettings` is the one description of the throttle's configuration; each app's
settings class inherits it under its own environment prefix (`<APP>` is `API` or `WEB`), so the
variables are `<APP>_RATE_LIMIT_STORAGE` (else `REDIS_URL`), `<APP>_RATE_LIMIT_KEY_PREFIX`,
`<APP>_LOGIN_RATE_PER_ADDRESS`, `<APP>_LOGIN_RATE_GLOBAL`, `<APP>_LOGIN_FAILURES_PER_ACCOUNT`,
`<APP>_LOGIN_FAILURES_PER_DEVICE`, `<APP>_DEVICE_COOKIE_SECRET`, `<APP>_REGISTER_RATE_PER_ADDRESS`
and `<APP>_REGISTER_RATE_PER_ACCOUNT`, and `build_throttle` is the one way from settings to a
`Throttle`.

Failure mode: fail CLOSED. When the storage cannot be reached, `check_*` raises
`ServiceUnavailable` (503 with Retry-After): logins and registrations pause, while everybody who
already holds a token goes on working, because token checks never touch Redis. Failing open would
switch brute-force protection off exactly when an attacker has managed to knock Redis over.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

import repo_db
from repo_db import ConfigError
from repo_domain.device_cookies import DeviceCookies
from repo_domain.errors import ServiceUnavailable, TooManyRequests

# A Redis that does not answer within this many seconds counts as down (fail fast, not hang).
REDIS_TIMEOUT_S = 0.5


MEMORY_STORAGE = "memory://"
DEVICE_COOKIE_SECRET_MIN_LENGTH = 32
# Development without a configured secret: one per process, so device cookies survive neither a
# restart nor a hop to another worker (the client is then untrusted, as before its first log-in).
_DEVELOPMENT_DEVICE_SECRET = secrets.token_urlsafe(32)


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
    # Untrusted log-in attempts (no valid device cookie), all accounts together.
    login_rate_global: str = "600/minute"
    # Failed untrusted log-ins per account, then untrusted clients wait (trusted devices do not).
    login_failures_per_account: str = "10 per 15 minutes"
    # Failed log-ins per device cookie, then the device is on the lockout list for the window.
    login_failures_per_device: str = "10 per 15 minutes"
    # HMAC key of the device cookies: required in production, shared by every process.
    device_cookie_secret: SecretStr | None = None
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

    @property
    def device_cookie_key(self) -> str:
        """The configured secret; a random one per process in development; production refuses
        to start without one (every process must verify every other process's cookies)."""
        prefix = self.model_config.get("env_prefix", "")
        if self.device_cookie_secret is None:
            if self.is_production:
                raise ConfigError(
                    f"production needs {prefix}DEVICE_COOKIE_SECRET, the same in every process "
                    f"(at least {DEVICE_COOKIE_SECRET_MIN_LENGTH} characters, e.g. from "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
                )
            return _DEVELOPMENT_DEVICE_SECRET
        secret = self.device_cookie_secret.get_secret_value()
        if len(secret) < DEVICE_COOKIE_SECRET_MIN_LENGTH:
            raise ConfigError(
                f"{prefix}DEVICE_COOKIE_SECRET is too short: use at least "
                f"{DEVICE_COOKIE_SECRET_MIN_LENGTH} random characters"
            )
        return secret


@dataclass(frozen=True, slots=True)
class ThrottleRates:
    """`limits` rate strings, e.g. "20/minute", "10 per 15 minutes"."""

    login_per_address: str = "30/minute"
    login_global: str = "600/minute"
    login_failures_per_account: str = "10 per 15 minutes"
    login_failures_per_device: str = "10 per 15 minutes"
    register_per_address: str = "10/hour"
    register_per_account: str = "5/hour"


class Throttle:
    """Counts attempts per client address, per account (normalised email) and per device."""

    def __init__(
        self,
        storage_uri: str,
        *,
        rates: ThrottleRates,
        key_prefix: str,
        device_secret: str | None = None,
    ) -> None:
        """`device_secret` None: a random one, so only this throttle accepts its cookies."""
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
        self.login_global: RateLimitItem = parse(rates.login_global)
        self.login_failures_per_account: RateLimitItem = parse(rates.login_failures_per_account)
        self.login_failures_per_device: RateLimitItem = parse(rates.login_failures_per_device)
        # The lockout list: one entry per device nonce, kept for the device window's length.
        self.device_lockout: RateLimitItem = RateLimitItemPerSecond(
            1, self.login_failures_per_device.get_expiry()
        )
        self.devices = DeviceCookies(device_secret or secrets.token_urlsafe(32))
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

    def check_login(self, *, address: str, account: str, device: str | None = None) -> str | None:
        """Before Argon2. `device` is the nonce of a valid device cookie of this account (see
        `DeviceCookies.device`). Returns it when the attempt is trusted (the device is not on
        the lockout list), None when it is untrusted; raises `TooManyRequests` when the address,
        the global untrusted limit or the account's untrusted failures are exhausted."""
        try:
            if device is not None and self._has_room(
                self.device_lockout, "login-device-locked", device
            ):
                # Per address and account: guessing from the owner's address (a shared NAT,
                # the same host) cannot use up the owner's allowance.
                self._hit(
                    self.login_per_address, "login-address-trusted", address, account, what="login"
                )
                return device
            self._hit(self.login_per_address, "login-address", address, what="login")
            self._hit(self.login_global, "login-global", what="login")
            self._test(self.login_failures_per_account, "login-account", account, what="login")
            return None
        except StorageError as exc:
            raise ServiceUnavailable("login is paused: the rate limiter is unreachable") from exc

    def login_failed(self, *, account: str, device: str | None = None) -> None:
        """After a wrong password: one more failure against the trusted device (`device`, as
        `check_login` returned it; on reaching its limit it goes on the lockout list), else
        against the account's untrusted failures."""
        try:
            if device is None:
                self.limiter.hit(
                    self.login_failures_per_account, self.key_prefix, "login-account", account
                )
                return
            self.limiter.hit(
                self.login_failures_per_device, self.key_prefix, "login-device", device
            )
            if not self._has_room(self.login_failures_per_device, "login-device", device):
                self.limiter.hit(
                    self.device_lockout, self.key_prefix, "login-device-locked", device
                )
        except StorageError as exc:
            raise ServiceUnavailable("login is paused: the rate limiter is unreachable") from exc

    def _has_room(self, item: RateLimitItem, *ids: str) -> bool:
        """Whether one more hit would fit in the window (nothing is counted)."""
        return bool(self.limiter.test(item, self.key_prefix, *ids))

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
            login_global=settings.login_rate_global,
            login_failures_per_account=settings.login_failures_per_account,
            login_failures_per_device=settings.login_failures_per_device,
            register_per_address=settings.register_rate_per_address,
            register_per_account=settings.register_rate_per_account,
        ),
        key_prefix=settings.rate_limit_key_prefix,
        device_secret=settings.device_cookie_key,
    )
