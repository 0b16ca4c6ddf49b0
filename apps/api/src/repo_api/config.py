"""API-only settings. Database settings live in repo_db and are never duplicated here."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field, PrivateAttr
from pydantic_settings import SettingsConfigDict

import repo_db
from repo_db.config import Environment
from repo_domain.throttle import ThrottleSettings


def _default_workers() -> int:
    """Production default: one per core, at least two, so one slow request never stalls all."""
    return max(2, min(8, os.cpu_count() or 2))


DEV_CORS_ORIGINS = "http://127.0.0.1:3000,http://localhost:3000,http://127.0.0.1:8080"
MIB = 1024 * 1024


class ApiSettings(ThrottleSettings):
    """Settings read from `API_*` environment variables.

    The log-in/registration throttle's settings are `repo_domain.throttle.ThrottleSettings`
    (inherited, so `API_RATE_LIMIT_STORAGE` or `REDIS_URL`, `API_LOGIN_RATE_PER_ADDRESS`, ...).

    The environment (development/test/staging/production) is repo_db's: `APP_ENV`, else
    `NODE_ENV`, parsed in one place (`repo_db.settings.environment`). Whether this is production
    is repo_db's decision (`repo_db.get_settings().is_production`); no variable here can change
    it (tests use `overriding_environment`).
    """

    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore", populate_by_name=True)

    _production: bool | None = PrivateAttr(default=None)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int | None = Field(default=None, ge=1, le=64)
    # Seconds uvicorn's supervisor waits for a worker to answer its health ping before replacing
    # it. uvicorn's own 5 s replaced healthy-but-starting workers again and again on a CPU-starved
    # host (tests/test_faults.py at load average 20: a new worker every 5.4-6.1 s after a kill).
    worker_healthcheck_seconds: int = Field(default=30, ge=1, le=600)
    token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    # Comma-separated list; "*" allows any origin (never with credentials). Unset: the local dev
    # origins in development, none (CORS off) in production.
    cors_origins: str | None = None
    # /docs, /redoc and /openapi.json. Unset: on in development, off in production.
    docs_enabled: bool | None = None
    # Request bodies above this many bytes are refused with 413 while they stream in.
    max_body_bytes: int = Field(default=1 * MIB, ge=1024)
    # Concurrent Argon2 hashes per process (each takes ~64 MiB and one core for ~0.1-0.4 s).
    argon2_concurrency: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1)
    # Concurrent throttle/database calls of login and registration per process (a bulkhead).
    auth_io_concurrency: int = Field(default=4, ge=1)
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated IPs
    # or networks, "*" for any). Unset: nobody, so the address the throttle counts is the TCP
    # peer's; uvicorn's own default would trust 127.0.0.1, i.e. any client on the same host.
    forwarded_allow_ips: str = Field(default="", validation_alias="FORWARDED_ALLOW_IPS")
    log_level: str = "info"
    log_json: bool | None = None
    max_page_size: int = Field(default=100, ge=1, le=1000)
    # Hidden `/_bench/baseline` route, only for benchmarks/api_load.py.
    bench_endpoints: bool = False

    def overriding_environment(self, *, production: bool) -> ApiSettings:
        """A copy that is (or is not) production whatever repo_db says: for tests."""
        copy = self.model_copy()
        copy._production = production
        return copy

    @property
    def is_production(self) -> bool:
        if self._production is not None:
            return self._production
        return repo_db.settings.is_production

    @property
    def environment(self) -> Environment:
        """repo_db's environment; production/development when a test overrides it."""
        if self._production is None:
            return repo_db.settings.environment
        return Environment.PRODUCTION if self._production else Environment.DEVELOPMENT

    @property
    def docs_on(self) -> bool:
        return (not self.is_production) if self.docs_enabled is None else self.docs_enabled

    @property
    def effective_workers(self) -> int:
        if self.workers is not None:
            return self.workers
        return _default_workers() if self.is_production else 1

    @property
    def cors_origin_list(self) -> list[str]:
        origins = self.cors_origins
        if origins is None:
            origins = "" if self.is_production else DEV_CORS_ORIGINS
        return [o.strip() for o in origins.split(",") if o.strip()]

    @property
    def json_logs(self) -> bool:
        return self.is_production if self.log_json is None else self.log_json

    @property
    def trusts_proxy(self) -> bool:
        """Whether uvicorn should read proxy headers at all (FORWARDED_ALLOW_IPS is set)."""
        return bool(self.forwarded_allow_ips.strip())


@lru_cache(maxsize=1)
def get_settings() -> ApiSettings:
    return ApiSettings()
