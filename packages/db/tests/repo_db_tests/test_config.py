"""Settings resolution, URL rewriting and Neon handling: pure, no server needed."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

import repo_db
from repo_db import ConfigError
from repo_db._engine import engine_options
from repo_db.config import (
    DbSettings,
    Environment,
    check_serving,
    get_settings,
    load_settings,
    redact,
    url_hosts,
)

SECRET = "s3cr3t-Pa55"
NEON_POOLED = (
    f"postgres://alex:{SECRET}@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/app"
    "?sslmode=require&channel_binding=require"
)


def settings(**env: object) -> DbSettings:
    """Settings from explicit values only (ignores the process environment's URL variables)."""
    base: dict[str, object] = {
        "node_env": None,
        "app_env": None,
        "database_url": None,
        "neon_database_url": None,
        "database_direct_url": None,
        "neon_database_direct_url": None,
    }
    return DbSettings(**{**base, **env})  # type: ignore[arg-type]


def test_development_defaults_to_sqlite_file() -> None:
    s = settings()
    assert s.db_type == "sqlite"
    assert s.url.database == "./dev.sqlite3"
    assert s.environment is Environment.DEVELOPMENT and not s.is_production
    assert s.log_all_queries is False  # the per-statement log is opt-in everywhere
    assert settings(db_log_queries=True).log_all_queries is True


def test_production_uses_neon_and_rewrites_driver() -> None:
    s = settings(node_env="production", neon_database_url=NEON_POOLED)
    assert s.db_type == "postgresql"
    assert s.url.drivername == "postgresql+psycopg"
    assert s.url.query["sslmode"] == "require"
    assert s.url.query["channel_binding"] == "require"
    assert s.log_all_queries is False
    assert settings(app_env="production", neon_database_url=NEON_POOLED).is_production


def test_database_url_wins_over_everything() -> None:
    s = settings(
        node_env="production", neon_database_url=NEON_POOLED, database_url="sqlite:///x.db"
    )
    assert s.url.database == "x.db"


def test_env_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_ENV", "production")
    monkeypatch.setenv("NEON_DATABASE_URL", NEON_POOLED)
    monkeypatch.setenv("DB_POOL_SIZE", "7")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    s = DbSettings()
    assert s.db_pool_size == 7
    assert s.url.host is not None and s.url.host.endswith("neon.tech")


def test_production_without_url_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="NEON_DATABASE_URL"):
        _ = settings(node_env="production").url


@pytest.mark.parametrize(
    "bad",
    [f"postgresql://alex:{SECRET}@/db", f"://alex:{SECRET}@host", f"mysql://alex:{SECRET}@h/db"],
)
def test_malformed_url_never_shows_the_password(bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        _ = settings(node_env="production", neon_database_url=bad).url
    assert "NEON_DATABASE_URL" in str(err.value)
    assert SECRET not in str(err.value)


def test_pooler_gets_prepare_threshold_none_and_direct_url_for_migrations() -> None:
    s = settings(node_env="production", neon_database_url=NEON_POOLED)
    options = engine_options(s.url, s)
    assert options["connect_args"]["prepare_threshold"] is None
    assert "options" not in options["connect_args"]  # PgBouncer would reject it
    assert options["pool_recycle"] < 300  # below Neon's 5-minute idle suspend
    assert options["pool_pre_ping"] is True
    assert s.direct_url.host == "ep-cool-darkness-123456.us-east-2.aws.neon.tech"
    assert s.direct_url.query["sslmode"] == "require"
    explicit = settings(
        node_env="production",
        neon_database_url=NEON_POOLED,
        neon_database_direct_url="postgresql://a:b@direct.example/app",
    )
    assert explicit.direct_url.host == "direct.example"


def test_direct_postgres_gets_session_timeout_option() -> None:
    s = settings(database_url="postgresql://u@localhost/db", db_idle_in_transaction_timeout_ms=5)
    options = engine_options(s.url, s)
    assert options["connect_args"]["options"] == "-c idle_in_transaction_session_timeout=5"
    assert "prepare_threshold" not in options["connect_args"]
    assert options["pool_size"] == 5 and options["max_overflow"] == 5


def test_sqlite_engine_pragmas(tmp_path: object) -> None:
    engine = repo_db.get_engine(f"sqlite:///{tmp_path}/p.sqlite3")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert repo_db.get_engine(f"sqlite:///{tmp_path}/p.sqlite3") is engine  # cached
    finally:
        repo_db.dispose_engines()


def test_lazy_module_attributes(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("NODE_ENV", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.setenv("SQLITE_PATH", f"{tmp_path}/lazy.sqlite3")
    get_settings.cache_clear()
    try:
        from repo_db import db, db_type

        assert db_type == "sqlite"
        assert db.url.database == f"{tmp_path}/lazy.sqlite3"
        assert repo_db.settings is get_settings()
    finally:
        repo_db.dispose_engines()
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("app_env", "node_env", "expected"),
    [
        (None, None, Environment.DEVELOPMENT),
        (None, "test", Environment.TEST),
        ("staging", "production", Environment.STAGING),  # APP_ENV first
        ("production", "development", Environment.PRODUCTION),
        ("", "production", Environment.PRODUCTION),  # empty counts as unset
        ("Production", None, Environment.PRODUCTION),
    ],
)
def test_environment_precedence(
    app_env: str | None, node_env: str | None, expected: Environment
) -> None:
    assert (
        settings(app_env=app_env, node_env=node_env, neon_database_url=NEON_POOLED).environment
        == expected
    )


def test_staging_is_production() -> None:
    s = settings(app_env="staging", neon_database_url=NEON_POOLED)
    assert s.is_production and s.db_type == "postgresql"
    with pytest.raises(ConfigError, match="staging but NEON_DATABASE_URL is not set"):
        settings(app_env="staging").url  # noqa: B018


@pytest.mark.parametrize(("variable", "value"), [("APP_ENV", "live-eu"), ("NODE_ENV", SECRET)])
def test_unknown_environment_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("NODE_ENV", raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable} is not a known environment")
    assert "development, test, staging, production" in message
    assert value not in message


def test_invalid_variable_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_LOG_QUERIES", SECRET)
    monkeypatch.setenv("DB_POOL_SIZE", "many")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "DB_LOG_QUERIES" in message and "DB_POOL_SIZE" in message
    assert SECRET not in message and "many" not in message


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({}, None),  # development on SQLite
        ({"node_env": "test", "database_url": "sqlite:///t.db"}, None),
        ({"app_env": "production", "neon_database_url": NEON_POOLED}, None),
        ({"app_env": "staging", "database_url": "postgresql://u@db.example.com/app"}, None),
        ({"app_env": "production", "database_url": "sqlite:///x.db"}, "is a SQLite database"),
        ({"node_env": "staging", "database_url": "sqlite:///x.db"}, "is a SQLite database"),
        ({"app_env": "production"}, "NEON_DATABASE_URL is not set"),
        ({"database_read_url": "nonsense"}, "DATABASE_READ_URL is not a valid database URL"),
    ],
)
def test_check_serving_refuses_sqlite_in_production(
    env: dict[str, str], refusal: str | None
) -> None:
    if refusal is None:
        check_serving(settings(**env))
    else:
        with pytest.raises(ConfigError, match=refusal):
            check_serving(settings(**env))


def test_libpq_multi_host_url_reaches_psycopg_as_every_host() -> None:
    # The failover URL (docs/operations.md "Failover"): SQLAlchemy cannot parse "h1:p1,h2:p2", so
    # repo_db rewrites it to ?host=...; fails if a host, a port or the query is dropped.
    url = settings(
        database_url=f"postgresql://app:{SECRET}@db1:5432,db2:5433/app"
        "?target_session_attrs=read-write&sslmode=require"
    ).url
    assert url_hosts(url) == ["db1:5432", "db2:5433"]
    args = create_engine(url).dialect.create_connect_args(url)[1]
    assert (args["host"], args["port"], args["dbname"]) == ("db1,db2", "5432,5433", "app")
    assert (args["target_session_attrs"], args["sslmode"]) == ("read-write", "require")
    assert args["password"] == SECRET
    assert SECRET not in redact(url)
    raw = f"postgresql://app:{SECRET}@db1:5432,db2:5433/app"
    assert SECRET not in redact(raw) and "db2" in redact(raw)
    assert redact(f"postgresql://app:{SECRET}@db:five/app") == "<unparseable URL>"


def test_bad_port_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as err:
        _ = settings(database_url=f"postgresql://app:{SECRET}@db:five/app").url
    assert "DATABASE_URL" in str(err.value)
    assert SECRET not in str(err.value)
