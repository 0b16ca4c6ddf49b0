"""Settings: the ONE place that reads the environment, for repo_db and for every app.

The environment (:class:`Environment`) is ``APP_ENV`` if set, else ``NODE_ENV`` (the seed's
variable), else ``development``. Accepted values: ``development``, ``test``, ``staging``,
``production``; anything else is a :class:`~repo_db._errors.ConfigError` naming the variable.
``staging`` behaves like ``production`` (``is_production`` is true): a staging deployment holds
real data, so it gets production's safety (no demo accounts, no auto-migration, confirmations).

Database selection (first match wins):

1. ``DATABASE_URL`` when set (any environment).
2. Production or staging: ``NEON_DATABASE_URL``, required; a missing or malformed value is a
   :class:`~repo_db._errors.ConfigError`.
3. Otherwise SQLite at ``SQLITE_PATH`` (default ``./dev.sqlite3``).

A PostgreSQL URL is pooled (PgBouncer in transaction mode: no server-side prepared statements;
migrations and COPY go to ``DATABASE_DIRECT_URL``) when its host has ``-pooler`` (Neon) or it is
declared pooled: ``DATABASE_POOLED=true`` or ``?pgbouncer=true``. ``DATABASE_READ_URL`` (optional)
is a streaming standby for read-only units of work: ``DATABASE_READ_MAX_LAG_SECONDS`` bounds its
lag, ``DATABASE_READ_RETRY_SECONDS`` how long it is left alone after a failed connect, and
``REDIS_URL`` (when set) shares the read-your-writes positions between processes
(repo_db._routing). See docs/operations.md.

Every serving process (``python -m repo_api``, ``python -m repo_web``, ``python -m repo_ai``)
calls :func:`start_or_exit` first: an unknown environment, SQLite in production or staging, or a
missing production setting stops it with one line on stderr and exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from repo_db._errors import ConfigError

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
# Read replica (repo_db._routing): reads go to the primary while the standby is further behind.
DEFAULT_READ_MAX_LAG_S = 10.0
# After a failed connect the standby is left alone this long (reads go to the primary at once).
DEFAULT_READ_RETRY_S = 5.0
# The standby's replay position is measured at most this often per process.
DEFAULT_READ_STATUS_TTL_MS = 50.0
# A client's last commit position is remembered this long (far longer than any tolerated lag).
DEFAULT_READ_YOUR_WRITES_TTL_S = 300
DEFAULT_READ_CONNECT_TIMEOUT_S = 2

PG_DRIVER = "postgresql+psycopg"
_PG_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}
_POOLER_MARKER = "-pooler"
#: Query parameter declaring a URL pooled (PgBouncer in transaction mode) whatever its host, e.g.
#: a loopback PgBouncer: ``postgresql://app@127.0.0.1:6432/app?pgbouncer=true``. repo_db strips
#: it before connecting. ``DATABASE_POOLED=true`` adds it to the application URL.
POOLED_QUERY_PARAM = "pgbouncer"


class Environment(StrEnum):
    """Where the code runs. ``staging`` is treated like ``production`` (see ``is_production``)."""

    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"

    @property
    def is_production(self) -> bool:
        return self in (Environment.STAGING, Environment.PRODUCTION)


#: Variables naming the environment, in order of precedence (the first one set wins).
ENVIRONMENT_VARIABLES = ("APP_ENV", "NODE_ENV")


def parse_environment(app_env: str | None, node_env: str | None) -> Environment:
    """The environment from ``APP_ENV`` (first) or ``NODE_ENV``; an unknown value is refused."""
    for variable, raw in zip(ENVIRONMENT_VARIABLES, (app_env, node_env), strict=True):
        if raw is None or not raw.strip():
            continue
        try:
            return Environment(raw.strip().lower())
        except ValueError:
            accepted = ", ".join(e.value for e in Environment)
            # The value is not repeated: a misplaced secret must not end up in a log.
            raise ConfigError(
                f"{variable} is not a known environment (value not shown); use one of {accepted}"
            ) from None
    return Environment.DEVELOPMENT


def redact(url: URL | str) -> str:
    """Render a URL for messages and logs with the password replaced by ``***``."""
    try:
        parsed = make_url(_multi_host_form(url)) if isinstance(url, str) else url
    except (ArgumentError, ValueError):
        return "<unparseable URL>"
    return parsed.render_as_string(hide_password=True)


def _multi_host_form(raw: str) -> str:
    """libpq's multi-host URL (``postgresql://u@h1:p1,h2:p2/db?...``) in the form SQLAlchemy
    parses (``postgresql://u@/db?host=h1:p1&host=h2:p2&...``); any other URL unchanged.

    libpq (and psycopg 3) try the hosts in order and, with ``target_session_attrs=read-write``,
    keep the first that accepts writes: after a failover the promoted standby, with no change of
    settings (docs/operations.md, "Failover").
    """
    scheme, sep, rest = raw.partition("://")
    if not sep:
        return raw
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostlist = authority.rpartition("@")
    if "," not in hostlist:
        return raw
    path, qmark, query = tail.partition("?")
    hosts = "&".join(f"host={host}" for host in hostlist.split(",") if host)
    return f"{scheme}://{userinfo}{at}{path or '/'}?{hosts}{'&' + query if qmark and query else ''}"


def url_hosts(url: URL) -> list[str]:
    """The URL's server addresses: its host, or each ``?host=`` of a multi-host URL."""
    if url.host:
        return [url.host]
    hosts = url.query.get("host", ())
    return [hosts] if isinstance(hosts, str) else list(hosts)


def normalize_url(raw: str | URL, *, variable: str = "DATABASE_URL") -> URL:
    """Parse ``raw`` and pin PostgreSQL URLs to psycopg 3, keeping query params (sslmode...).

    A libpq multi-host URL (``postgresql://u@h1:5432,h2:5432/db?target_session_attrs=read-write``)
    is accepted and kept as SQLAlchemy's equivalent ``?host=h1:5432&host=h2:5432`` form.
    """
    try:
        url = make_url(_multi_host_form(raw)) if isinstance(raw, str) else raw
    except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
        # The value may contain a password: never echo it.
        raise ConfigError(
            f"{variable} is not a valid database URL (value not shown). Expected e.g. "
            "postgresql://USER:PASSWORD@HOST/DB?sslmode=require or sqlite:///path/to/file.sqlite3"
        ) from None
    if url.drivername in _PG_SCHEMES:
        if not url_hosts(url):
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

    app_env: str | None = None
    node_env: str | None = None
    database_url: str | None = None
    neon_database_url: str | None = None
    database_direct_url: str | None = None
    neon_database_direct_url: str | None = None
    # ops (issue 11): a pooled URL declared explicitly, and an optional read replica.
    database_pooled: bool = False
    database_read_url: str | None = None
    # issue 19: the standby's lag bound, outage back-off and read-your-writes store.
    database_read_max_lag_seconds: float = Field(default=DEFAULT_READ_MAX_LAG_S, ge=0)
    database_read_retry_seconds: float = Field(default=DEFAULT_READ_RETRY_S, ge=0)
    database_read_status_ttl_ms: float = Field(default=DEFAULT_READ_STATUS_TTL_MS, ge=0)
    database_read_connect_timeout: int = Field(default=DEFAULT_READ_CONNECT_TIMEOUT_S, ge=1)
    database_read_your_writes_ttl_seconds: int = Field(default=DEFAULT_READ_YOUR_WRITES_TTL_S, ge=1)
    redis_url: str | None = None
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
    db_log_queries: bool = False

    @model_validator(mode="after")
    def _known_environment(self) -> DbSettings:
        parse_environment(self.app_env, self.node_env)  # raises ConfigError (not a ValueError)
        return self

    @property
    def environment(self) -> Environment:
        return parse_environment(self.app_env, self.node_env)

    @property
    def is_production(self) -> bool:
        """Production or staging: real data, so no demo data and destructive commands confirm."""
        return self.environment.is_production

    @property
    def log_all_queries(self) -> bool:
        """Every statement at debug level: only when ``DB_LOG_QUERIES=true``."""
        return self.db_log_queries

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
                    f"the environment is {self.environment} but NEON_DATABASE_URL is not set: "
                    "set it to the "
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
            source = "DATABASE_URL" if self.database_url else "NEON_DATABASE_URL"
            raise ConfigError(
                f"{source} is declared pooled (DATABASE_POOLED=true or "
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


def describe_invalid_settings(exc: ValidationError) -> str:
    """A settings ``ValidationError`` as one line naming the variables, never their values.

    pydantic's own message would repeat the rejected value, which may be a secret.
    """
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']).upper() or 'settings'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )
    return f"invalid environment variable ({problems}; value not shown)"


def load_settings() -> DbSettings:
    """Settings from the environment; an invalid variable is a ``ConfigError`` naming it."""
    try:
        return DbSettings()
    except ValidationError as exc:
        raise ConfigError(describe_invalid_settings(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> DbSettings:
    """Process-wide settings, read once. Call ``get_settings.cache_clear()`` after env changes."""
    return load_settings()


def check_serving(settings: DbSettings) -> None:
    """What no serving process (api, web, ai worker) may start with, as a ``ConfigError``.

    The environment and the database variables must parse (``settings.url`` refuses an unknown
    environment, a malformed URL, production without a database URL), and production or staging
    must not run on SQLite: one file on one host holds the real data, without the shared
    database, backups and concurrent writers production needs.
    """
    url = settings.url
    settings.read_url  # noqa: B018 - a malformed replica URL is refused now, not per request
    if settings.is_production and url.get_backend_name() == "sqlite":
        raise ConfigError(
            f"the environment is {settings.environment} but DATABASE_URL is a SQLite database: "
            "set DATABASE_URL (or NEON_DATABASE_URL without DATABASE_URL) to a PostgreSQL URL, "
            "or set APP_ENV=development"
        )


def start_or_exit(*checks: Callable[[], object]) -> None:
    """Start-up of every serving process: refuse a configuration it must not run with.

    Runs :func:`check_serving` on the process-wide settings, then the process's own ``checks``
    (e.g. the throttle store, the app's settings). The first ``ConfigError`` or settings
    ``ValidationError`` is written to stderr as ONE line, ``error: <problem and what to set>``,
    and the process exits with status 2: no traceback, no value of a variable.
    """
    try:
        check_serving(get_settings())
        for check in checks:
            check()
    except ConfigError as exc:
        problem = str(exc)
    except ValidationError as exc:
        problem = describe_invalid_settings(exc)
    else:
        return
    print(f"error: {problem}", file=sys.stderr, flush=True)
    raise SystemExit(2)


__all__ = [
    "ENVIRONMENT_VARIABLES",
    "DbSettings",
    "POOLED_QUERY_PARAM",
    "DbType",
    "Environment",
    "check_serving",
    "connectable_url",
    "db_type_of",
    "describe_invalid_settings",
    "direct_url_from_pooler",
    "get_settings",
    "is_pooler_url",
    "load_settings",
    "normalize_url",
    "parse_environment",
    "redact",
    "start_or_exit",
]
