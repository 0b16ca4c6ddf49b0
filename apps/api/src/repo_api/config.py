"""API-only settings. Database settings live in repo_db and are never duplicated here."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

import repo_db
from repo_db.config import Environment


def _default_workers() -> int:
    """Production default: one per core, at least two, so one slow request never stalls all."""
    return max(2, min(8, os.cpu_count() or 2))


class ApiSettings(BaseSettings):
    """Settings read from `API_*` environment variables.

    The environment (development/test/staging/production) is repo_db's: `APP_ENV`, else
    `NODE_ENV`, parsed in one place (`repo_db.settings.environment`).
    """

    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int | None = Field(default=None, ge=1, le=64)
    token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    # Comma-separated list; "*" allows any origin (never with credentials).
    cors_origins: str = "http://127.0.0.1:3000,http://localhost:3000,http://127.0.0.1:8080"
    log_level: str = "info"
    log_json: bool | None = None
    max_page_size: int = Field(default=100, ge=1, le=1000)
    # Hidden `/_bench/baseline` route, only for benchmarks/api_load.py.
    bench_endpoints: bool = False

    @property
    def environment(self) -> Environment:
        return repo_db.settings.environment

    @property
    def is_production(self) -> bool:
        """Production or staging (repo_db's definition)."""
        return repo_db.settings.is_production

    @property
    def effective_workers(self) -> int:
        if self.workers is not None:
            return self.workers
        return _default_workers() if self.is_production else 1

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def json_logs(self) -> bool:
        return self.is_production if self.log_json is None else self.log_json


@lru_cache(maxsize=1)
def get_settings() -> ApiSettings:
    return ApiSettings()
