"""AI worker settings, read from `AI_*` environment variables. Database settings and the
environment (APP_ENV, else NODE_ENV) live in repo_db."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

import repo_db
from repo_ai.grading import DEFAULT_REVIEW_THRESHOLD


class AiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AI_", extra="ignore")

    #: A claimed job belongs to its worker this long; a killed worker's job is retaken after it.
    lease_seconds: float = Field(default=60.0, gt=0)
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=10, ge=1, le=1000)
    max_tries: int = Field(default=5, ge=1)
    #: Grades with a lower confidence are flagged for an author's review (0: none, >1: all).
    review_threshold: float = Field(default=DEFAULT_REVIEW_THRESHOLD, ge=0, le=2)
    #: How often the worker looks for attempts stuck in `grading` without a queued job.
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    log_level: str = "info"
    log_json: bool | None = None

    @property
    def json_logs(self) -> bool:
        """JSON in production or staging (repo_db's one definition of the environment)."""
        production = repo_db.settings.is_production
        return production if self.log_json is None else self.log_json


@lru_cache(maxsize=1)
def get_settings() -> AiSettings:
    return AiSettings()
