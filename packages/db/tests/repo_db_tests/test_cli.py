"""The ``repo-db`` CLI through Typer's CliRunner, plus one real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from repo_db import count, get_engine
from repo_db.cli import (
    EXIT_CONFIG,
    EXIT_DEGRADED,
    EXIT_ERROR,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    PRODUCTION_FLAG,
    app,
)
from repo_db.config import get_settings

runner = CliRunner()


@pytest.fixture()
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cli.sqlite3"


def test_migrate_seed_health_cycle(url: str) -> None:
    status = runner.invoke(app, ["--url", url, "migrate", "status"])
    assert status.exit_code == EXIT_DEGRADED, status.output
    up = runner.invoke(app, ["--url", url, "migrate", "up"])
    assert up.exit_code == 0, up.output
    assert "0014" in up.output
    assert runner.invoke(app, ["--url", url, "migrate", "status"]).exit_code == 0
    seeded = runner.invoke(app, ["--url", url, "seed"])
    assert seeded.exit_code == 0, seeded.output
    assert "learner@example.com / demo-password" in seeded.output
    runner.invoke(app, ["--url", url, "seed"])  # idempotent
    assert count("users", engine=get_engine(url)) == 3
    health = runner.invoke(app, ["--url", url, "health", "--json"])
    assert health.exit_code == 0, health.output
    report = json.loads(health.output)
    assert report["status"] == "ok" and report["migrations_current"] is True
    down = runner.invoke(app, ["--url", url, "migrate", "down", "base"])
    assert down.exit_code == 0, down.output
    assert runner.invoke(app, ["--url", url, "health"]).exit_code == EXIT_DEGRADED


def test_history_and_tables(url: str) -> None:
    history = runner.invoke(app, ["migrate", "history"])
    assert history.exit_code == 0
    assert "0001" in history.output and "0014" in history.output
    assert runner.invoke(app, ["--url", url, "create-tables"]).exit_code == 0
    assert runner.invoke(app, ["--url", url, "drop-tables"]).exit_code == 0


def test_bulk_seed_is_idempotent(url: str) -> None:
    assert runner.invoke(app, ["--url", url, "create-tables"]).exit_code == 0
    first = runner.invoke(app, ["--url", url, "seed", "--users", "1200", "--batch-size", "500"])
    assert first.exit_code == 0, first.output
    engine = get_engine(url)
    assert count("users", engine=engine) == 1200
    assert count("responses", engine=engine) == 4 * 1200
    again = runner.invoke(app, ["--url", url, "seed", "--users", "1200"])
    assert again.exit_code == 0
    assert count("users", engine=engine) == 1200
    assert count("attempts", engine=engine) == 1200


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A clean repo_db environment; settings are re-read before and after the test."""
    for name in ("APP_ENV", "NODE_ENV", "DATABASE_URL", "NEON_DATABASE_URL", "SQLITE_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DB_CONNECT_RETRIES", "0")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _one_error_line(result: Any) -> str:
    """A failure is one line on stderr, nothing on stdout, no traceback."""
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_seed_on_an_unmigrated_database_says_to_migrate(env: pytest.MonkeyPatch, url: str) -> None:
    for args in (["seed"], ["seed", "--users", "10"]):
        result = runner.invoke(app, ["--url", url, *args])
        assert result.exit_code == EXIT_ERROR
        assert "run `repo-db migrate up`" in _one_error_line(result)


def test_unknown_revision_and_down_at_base(env: pytest.MonkeyPatch, url: str) -> None:
    up = runner.invoke(app, ["--url", url, "migrate", "up", "9999"])
    assert up.exit_code == EXIT_ERROR
    line = _one_error_line(up)
    assert "migrate history" in line and "9999" not in line
    down = runner.invoke(app, ["--url", url, "migrate", "down"])
    assert down.exit_code == EXIT_ERROR
    assert "nothing to revert" in _one_error_line(down)
    runner.invoke(app, ["--url", url, "migrate", "up", "0001"])
    too_far = runner.invoke(app, ["--url", url, "migrate", "down", "--", "-3"])
    assert too_far.exit_code == EXIT_ERROR
    assert "migrate status" in _one_error_line(too_far)


def test_debug_shows_the_traceback(env: pytest.MonkeyPatch, url: str) -> None:
    from repo_db import MigrationStateError

    result = runner.invoke(app, ["--debug", "--url", url, "migrate", "up", "9999"])
    assert result.exit_code != 0
    assert isinstance(result.exception, MigrationStateError)


def test_unwritable_sqlite_path(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("SQLITE_PATH", str(tmp_path / "no-such-dir" / "db.sqlite3"))
    result = runner.invoke(app, ["migrate", "up"])
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "cannot open the SQLite database file" in _one_error_line(result)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "://app:hunter2@db.example.com/app", "DATABASE_URL is not a valid"),
        ("APP_ENV", "hunter2", "APP_ENV is not a known environment"),
        ("DB_POOL_PRE_PING", "hunter2", "DB_POOL_PRE_PING"),
    ],
)
def test_bad_configuration_is_named_never_repeated(
    env: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    env.setenv(variable, value)
    result = runner.invoke(app, ["migrate", "status"])
    assert result.exit_code == EXIT_CONFIG
    line = _one_error_line(result)
    assert expected in line and "hunter2" not in line


def test_malformed_url_option(env: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["--url", "nonsense:hunter2", "migrate", "status"])
    assert result.exit_code == EXIT_CONFIG
    line = _one_error_line(result)
    assert "--url" in line and "hunter2" not in line


@pytest.mark.parametrize("environment", ["production", "staging"])
@pytest.mark.parametrize("command", [["seed"], ["drop-tables"], ["migrate", "down"]])
def test_production_refuses_destructive_commands(
    env: pytest.MonkeyPatch, url: str, environment: str, command: list[str]
) -> None:
    env.setenv("APP_ENV", environment)
    env.setenv("NEON_DATABASE_URL", "postgresql://u:hunter2@127.0.0.1:1/none")
    assert runner.invoke(app, ["--url", url, "migrate", "up"]).exit_code == 0
    for args in (command, ["--url", url, *command]):  # from the environment or --url
        result = runner.invoke(app, args)
        assert result.exit_code == EXIT_REFUSED, result.output
        line = _one_error_line(result)
        assert f"the environment is {environment}" in line and PRODUCTION_FLAG in line
    assert count("users", engine=get_engine(url)) == 0  # nothing was seeded
    confirmed = runner.invoke(app, ["--url", url, *command, PRODUCTION_FLAG])
    assert confirmed.exit_code == 0, confirmed.output


def test_remote_postgres_counts_as_production(env: pytest.MonkeyPatch) -> None:
    remote = "postgresql://app:hunter2@db.example.com:5432/app"
    for command in (["seed"], ["drop-tables"], ["migrate", "down"]):
        result = runner.invoke(app, ["--url", remote, *command])
        assert result.exit_code == EXIT_REFUSED
        line = _one_error_line(result)
        assert "another machine (db.example.com)" in line and "hunter2" not in line


def test_multi_host_url_with_one_remote_host_counts_as_production(env: pytest.MonkeyPatch) -> None:
    # A failover URL whose standby is elsewhere: refused like any remote server.
    remote = "postgresql://app:hunter2@127.0.0.1:5432,db.example.com:5432/app"
    result = runner.invoke(app, ["--url", remote, "seed"])
    assert result.exit_code == EXIT_REFUSED
    line = _one_error_line(result)
    assert "db.example.com:5432" in line and "hunter2" not in line


def test_unreachable_database_health_is_down(env: pytest.MonkeyPatch) -> None:
    secret_url = "postgresql://u:hunter2@127.0.0.1:1/none"
    result = runner.invoke(app, ["--url", secret_url, "health", "--json"])
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "hunter2" not in result.output
    assert json.loads(result.stdout.splitlines()[0])["status"] == "down"


def test_health_on_migrated_postgres_and_sqlite(db_engine: Engine) -> None:
    url = db_engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["--url", url, "health", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["db_type"] == db_engine.dialect.name


def test_real_subprocess_help() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-m", "repo_db.cli", "migrate", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("up", "down", "status", "history", "new"):
        assert command in proc.stdout


def test_verbose_logs_every_statement_quiet_otherwise(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)}
    url = f"sqlite:///{tmp_path}/verbose.sqlite3"

    def run(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "repo_db.cli", *flags, "--url", url, "migrate", "up"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    quiet = run()
    assert quiet.returncode == 0, quiet.stderr
    assert "db.query" not in quiet.stderr
    verbose = run("--verbose")
    assert verbose.returncode == 0, verbose.stderr
    assert "DEBUG repo_db.query: db.query" in verbose.stderr
