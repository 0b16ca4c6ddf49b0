"""Database settings: the ONE place that reads the environment for repo_db.

Selection rules (first match wins):

1. ``DATABASE_URL`` when set (any environment).
2. Production (``NODE_ENV=production`` or ``APP_ENV=production``): ``NEON_DATABASE_URL``,
   required; a missing or malformed value is a :class:`~repo_db.errors.ConfigError`.
3. Otherwise SQLite at ``SQLITE_PATH`` (default ``./dev.sqlite3``).

A PostgreSQL URL is pooled (PgBouncer in transaction mode: no server-side prepared statements;
migrations and COPY go to ``DATABASE_DIRECT_URL``) when its host has ``-pooler`` (Neon) or it is
declared pooled: ``DATABASE_POOLED=true`` or ``?pgbouncer=true``. ``DATABASE_READ_URL`` (optional)
is a read replica for read-only units of work. See docs/operations.md.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from repo_db.errors import ConfigError

DbType = Literal["postgresql", "sqlite"]

DEFAULT_SQLITE_PATH = "./dev.sqlite3"
DEFAULT_POOL_SIZE = 5
DEFAULT_MAX_OVERFLOW = 5
DEFAULT_POOL_TIMEOUT_S = 10.0
# Neon suspends idle computes after 5 minutes and drops their connections: recycle before that.
DEFAULT_POOL_RECYCLE_S = 240
DEFAULT_CONNECT_TIMEOUT_S = 10
DEFAULT_CONNECT_RETRIES = 5
DEFAULT_SLOW_QUERY_MS = 200.0
DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5_000

PG_DRIVER = "postgresql+psycopg"
_PG_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}
_POOLER_MARKER = "-pooler"
#: Query parameter declaring a URL pooled (PgBouncer in transaction mode) whatever its host, e.g.
#: a loopback PgBouncer: ``postgresql://app@127.0.0.1:6432/app?pgbouncer=true``. repo_db strips
#: it before connecting. ``DATABASE_POOLED=true`` adds it to the application URL.
POOLED_QUERY_PARAM = "pgbouncer"


def redact(url: URL | str) -> str:
    """Render a URL for messages and logs with the password replaced by ``***``."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable URL>"
    return parsed.render_as_string(hide_password=True)


def normalize_url(raw: str | URL, *, variable: str = "DATABASE_URL") -> URL:
    """Parse ``raw`` and pin PostgreSQL URLs to psycopg 3, keeping query params (sslmode...)."""
    try:
        url = make_url(raw) if isinstance(raw, str) else raw
    except ArgumentError:
        # The value may contain a password: never echo it.
        raise ConfigError(
            f"{variable} is not a valid database URL (value not shown). Expected e.g. "
            "postgresql://USER:PASSWORD@HOST/DB?sslmode=require or sqlite:///path/to/file.sqlite3"
        ) from None
    if url.drivername in _PG_SCHEMES:
        if not url.host:
            raise ConfigError(f"{variable} has no host: {redact(url)}")
        url = url.set(drivername=PG_DRIVER)
    elif url.get_backend_name() != "sqlite":
        raise ConfigError(
            f"{variable} uses unsupported backend {url.get_backend_name()!r}: "
            "repo_db supports postgresql and sqlite"
        )
    return url


def is_pooler_url(url: URL) -> bool:
    """A PgBouncer (transaction mode) endpoint: Neon's ``-pooler`` host, or declared pooled."""
    declared = str(url.query.get(POOLED_QUERY_PARAM, "")).lower() in ("true", "1", "yes", "on")
    return declared or (bool(url.host) and _POOLER_MARKER in (url.host or ""))


def connectable_url(url: URL) -> URL:
    """``url`` without repo_db's own query parameters (the driver would reject them)."""
    return url.difference_update_query([POOLED_QUERY_PARAM])


def direct_url_from_pooler(url: URL) -> URL:
    """The direct (non-PgBouncer) endpoint: Neon's pooled host minus ``-pooler``.

    A URL declared pooled by its query parameter alone is returned as it is (still pooled):
    its direct URL cannot be guessed and must be configured (DATABASE_DIRECT_URL).
    """
    if not (url.host and _POOLER_MARKER in url.host):
        return url
    return connectable_url(url.set(host=url.host.replace(_POOLER_MARKER, "", 1)))


def db_type_of(url: URL) -> DbType:
    return "postgresql" if url.get_backend_name() == "postgresql" else "sqlite"


class DbSettings(BaseSettings):
    """Environment-driven settings. Field names are the (case-insensitive) variable names."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    node_env: str = "development"
    app_env: str | None = None
    database_url: str | None = None
    neon_database_url: str | None = None
    database_direct_url: str | None = None
    neon_database_direct_url: str | None = None
    # ops (issue 11): a pooled URL declared explicitly, and an optional read replica.
    database_pooled: bool = False
    database_read_url: str | None = None
    sqlite_path: str = DEFAULT_SQLITE_PATH
    sqlite_busy_timeout_ms: int = Field(default=DEFAULT_SQLITE_BUSY_TIMEOUT_MS, ge=0)

    db_pool_size: int = Field(default=DEFAULT_POOL_SIZE, ge=1)
    db_max_overflow: int = Field(default=DEFAULT_MAX_OVERFLOW, ge=0)
    db_pool_timeout: float = Field(default=DEFAULT_POOL_TIMEOUT_S, gt=0)
    db_pool_recycle: int = DEFAULT_POOL_RECYCLE_S
    db_pool_pre_ping: bool = True
    db_connect_timeout: int = Field(default=DEFAULT_CONNECT_TIMEOUT_S, ge=1)
    db_connect_retries: int = Field(default=DEFAULT_CONNECT_RETRIES, ge=0)
    db_idle_in_transaction_timeout_ms: int = Field(
        default=DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS, ge=0
    )
    db_slow_query_ms: float = DEFAULT_SLOW_QUERY_MS
    db_log_queries: bool | None = None

    @property
    def is_production(self) -> bool:
        return "production" in (self.node_env.lower(), (self.app_env or "").lower())

    @property
    def log_all_queries(self) -> bool:
        """Every statement at debug level: on by default in development, off in production."""
        return (not self.is_production) if self.db_log_queries is None else self.db_log_queries

    def url_source(self) -> str:
        """Name of the variable the URL comes from (for messages)."""
        if self.database_url:
            return "DATABASE_URL"
        if self.is_production:
            return "NEON_DATABASE_URL"
        return "SQLITE_PATH"

    @property
    def url(self) -> URL:
        """The application URL (may be a pooled endpoint: Neon's, or DATABASE_POOLED=true)."""
        url = self._configured_url()
        if self.database_pooled and url.get_backend_name() == "postgresql":
            url = url.update_query_dict({POOLED_QUERY_PARAM: "true"})
        return url

    def _configured_url(self) -> URL:
        if self.database_url:
            return normalize_url(self.database_url, variable="DATABASE_URL")
        if self.is_production:
            if not self.neon_database_url:
                raise ConfigError(
                    "NODE_ENV/APP_ENV=production but NEON_DATABASE_URL is not set: set it to the "
                    "Neon connection string (postgresql://USER:PASSWORD@HOST/DB?sslmode=require), "
                    "or set DATABASE_URL"
                )
            return normalize_url(self.neon_database_url, variable="NEON_DATABASE_URL")
        return URL.create("sqlite", database=self.sqlite_path)

    @property
    def direct_url(self) -> URL:
        """URL for migrations and COPY: never through PgBouncer's transaction mode."""
        for name in ("database_direct_url", "neon_database_direct_url"):
            value = getattr(self, name)
            if value:
                return normalize_url(value, variable=name.upper())
        url = self.url
        direct = direct_url_from_pooler(url)
        if is_pooler_url(direct):
            raise ConfigError(
                f"{self.url_source()} is declared pooled (DATABASE_POOLED=true or "
                f"?{POOLED_QUERY_PARAM}=true) but DATABASE_DIRECT_URL is not set: migrations "
                "and COPY need the server's direct URL"
            )
        return direct

    @property
    def read_url(self) -> URL | None:
        """Read replica for ``unit_of_work(read_only=True)`` (DATABASE_READ_URL), if any."""
        if not self.database_read_url:
            return None
        return normalize_url(self.database_read_url, variable="DATABASE_READ_URL")

    @property
    def db_type(self) -> DbType:
        return db_type_of(self.url)


@lru_cache(maxsize=1)
def get_settings() -> DbSettings:
    """Process-wide settings, read once. Call ``get_settings.cache_clear()`` after env changes."""
    return DbSettings()


__all__ = [
    "DbSettings",
    "POOLED_QUERY_PARAM",
    "DbType",
    "connectable_url",
    "db_type_of",
    "direct_url_from_pooler",
    "get_settings",
    "is_pooler_url",
    "normalize_url",
    "redact",
]
