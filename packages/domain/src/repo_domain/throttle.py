"""Login and registration throttling, shared by every process through the `limits` library.

Storage: Redis in production (`redis://...`, every API worker and web process counts in the same
windows), `memory://` for the one-process development default and tests. Moving windows, so a
burst at a window's edge cannot double the allowance.

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

from repo_domain.errors import ServiceUnavailable, TooManyRequests

# A Redis that does not answer within this many seconds counts as down (fail fast, not hang).
REDIS_TIMEOUT_S = 0.5


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
