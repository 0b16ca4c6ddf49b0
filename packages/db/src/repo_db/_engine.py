"""Engine construction: pool sizing, SQLite pragmas, Neon pooler quirks and connect retries."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.engine.interfaces import ConnectArgsType, DBAPIConnection, Dialect
from sqlalchemy.pool import ConnectionPoolEntry, NullPool
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from repo_db._errors import DatabaseUnavailableError
from repo_db._query_log import install_query_logging
from repo_db.config import (
    DbSettings,
    connectable_url,
    db_type_of,
    get_settings,
    is_pooler_url,
    normalize_url,
    redact,
)

RETRY_WAIT_INITIAL_S = 0.25
RETRY_WAIT_MAX_S = 4.0
# Connect failures that no retry can fix.
_PERMANENT_CONNECT_ERRORS = (
    "password authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "role ",
)

logger = logging.getLogger("repo_db.engine")

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
_default_override: Engine | None = None


def engine_options(url: URL, settings: DbSettings) -> dict[str, Any]:
    """Keyword arguments for ``create_engine`` (pure: unit-tested without a server)."""
    if db_type_of(url) == "sqlite":
        # sqlite3's own lock wait, in seconds; the PRAGMA below covers connections made elsewhere.
        return {"connect_args": {"timeout": settings.sqlite_busy_timeout_ms / 1000.0}}
    connect_args: dict[str, Any] = {"connect_timeout": settings.db_connect_timeout}
    if is_pooler_url(url):
        # PgBouncer in transaction mode hands each transaction to another server connection,
        # where psycopg's named prepared statements would not exist: disable them. Startup
        # ``options`` are not forwarded by PgBouncer either: set the timeout with ALTER ROLE.
        connect_args["prepare_threshold"] = None
    elif settings.db_idle_in_transaction_timeout_ms:
        connect_args["options"] = (
            f"-c idle_in_transaction_session_timeout={settings.db_idle_in_transaction_timeout_ms}"
        )
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        "pool_recycle": settings.db_pool_recycle,
        "pool_pre_ping": settings.db_pool_pre_ping,
        "connect_args": connect_args,
    }


def _sqlite_on_connect(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN: needed for SAVEPOINT-based nesting.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # WAL: readers do not block the writer, so api + web + ai can share the dev file.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


#: Connection execution option naming SQLite's BEGIN mode (DEFERRED unless a writing unit of
#: work asks for IMMEDIATE; see repo_db._context).
SQLITE_BEGIN_OPTION = "repo_db_sqlite_begin"


def _sqlite_on_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _is_transient(exc: BaseException) -> bool:
    message = str(exc).lower()
    return not any(marker in message for marker in _PERMANENT_CONNECT_ERRORS)


def _log_retry(url: URL) -> Any:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.warning(
            "db.connect_retry attempt=%s wait_s=%s url=%s error=%s",
            state.attempt_number,
            round(state.next_action.sleep if state.next_action else 0.0, 3),
            redact(url),
            str(exc).splitlines()[0] if exc else None,
        )

    return before_sleep


def _install_connect_retry(engine: Engine, retries: int) -> None:
    """Retry transient connect failures with exponential backoff, then raise a clear error."""
    url = engine.url

    @event.listens_for(engine, "do_connect")
    def do_connect(
        dialect: Dialect, _record: ConnectionPoolEntry, cargs: ConnectArgsType, cparams: Any
    ) -> DBAPIConnection:
        dbapi_error = dialect.loaded_dbapi.Error
        retrying = Retrying(
            stop=stop_after_attempt(retries + 1),
            wait=wait_exponential(multiplier=RETRY_WAIT_INITIAL_S, max=RETRY_WAIT_MAX_S),
            retry=retry_if_exception(lambda e: isinstance(e, dbapi_error) and _is_transient(e)),
            before_sleep=_log_retry(url),
            reraise=True,
        )
        try:
            return retrying(dialect.connect, *cargs, **cparams)
        except dbapi_error as exc:
            first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
            logger.error("db.connect_failed url=%s error=%s", redact(url), first_line)
            raise DatabaseUnavailableError(
                f"cannot connect to {redact(url)}: {first_line}. Is the server running and "
                f"is the URL right? (gave up after {retries} retries; DB_CONNECT_RETRIES)"
            ) from None


def build_engine(
    url: URL | str, *, settings: DbSettings | None = None, throwaway: bool = False
) -> Engine:
    """Create a new, uncached engine configured from ``settings``.

    ``throwaway=True`` (migrations, CLI one-offs) uses ``NullPool``: nothing stays open after.
    """
    settings = settings or get_settings()
    parsed = normalize_url(url) if isinstance(url, str) else url
    options = engine_options(parsed, settings)
    if throwaway:
        options = {"connect_args": options.get("connect_args", {}), "poolclass": NullPool}
    engine = create_engine(connectable_url(parsed), **options)
    if db_type_of(parsed) == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect(settings.sqlite_busy_timeout_ms))
        event.listen(engine, "begin", _sqlite_on_begin)
    else:
        _install_connect_retry(engine, settings.db_connect_retries)
    install_query_logging(
        engine, slow_ms=settings.db_slow_query_ms, log_all=settings.log_all_queries
    )
    return engine


def get_engine(url: URL | str | None = None) -> Engine:
    """The engine for ``url`` (default: the configured one), created once per URL per process."""
    if url is None and _default_override is not None:
        return _default_override
    parsed = get_settings().url if url is None else normalize_url(url)
    key = parsed.render_as_string(hide_password=False)
    engine = _engines.get(key)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = build_engine(parsed)
            _engines[key] = engine
    return engine


def get_direct_engine() -> Engine:
    """The engine for COPY and DDL: the direct URL, never PgBouncer (same as ``get_engine()``
    when the application URL is not pooled). Tests' default-engine override applies too."""
    if _default_override is not None:
        return _default_override
    return get_engine(get_settings().direct_url)


def get_read_engine() -> Engine:
    """The engine for read-only units of work: the read replica (DATABASE_READ_URL) if set.

    The replica's engine makes no connect retries and waits at most
    DATABASE_READ_CONNECT_TIMEOUT seconds: a replica that does not answer is a reason to read
    from the primary at once (repo_db._routing), not to make the request wait. Tests that
    override the default engine get that engine here too (no replica routing).
    """
    if _default_override is not None:
        return _default_override
    settings = get_settings()
    read_url = settings.read_url
    if read_url is None:
        return get_engine()
    key = "read:" + read_url.render_as_string(hide_password=False)
    engine = _engines.get(key)
    if engine is None:
        with _lock:
            engine = _engines.get(key)
            if engine is None:
                read_settings = settings.model_copy(
                    update={
                        "db_connect_retries": 0,
                        "db_connect_timeout": settings.database_read_connect_timeout,
                    }
                )
                engine = build_engine(read_url, settings=read_settings)
                _engines[key] = engine
    return engine


def replica_configured() -> bool:
    """Whether read-only units may go to a replica (DATABASE_READ_URL set, no test override)."""
    return _default_override is None and get_settings().read_url is not None


def dispose_engines() -> None:
    """Close every pooled connection (tests, forked workers, shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def override_default_engine(engine: Engine | None) -> Engine | None:
    """Make ``db``/``get_engine()`` return ``engine`` (tests); returns the previous override."""
    global _default_override
    previous, _default_override = _default_override, engine
    return previous
