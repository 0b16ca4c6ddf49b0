"""The ``repo-db`` CLI through Typer's CliRunner, plus one real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from repo_db import count, get_engine
from repo_db.cli import EXIT_ABORTED, EXIT_CONFIG, EXIT_DEGRADED, EXIT_UNAVAILABLE, app

runner = CliRunner()


@pytest.fixture()
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cli.sqlite3"


def test_migrate_seed_health_cycle(url: str) -> None:
    status = runner.invoke(app, ["--url", url, "migrate", "status"])
    assert status.exit_code == EXIT_DEGRADED, status.output
    up = runner.invoke(app, ["--url", url, "migrate", "up"])
    assert up.exit_code == 0, up.output
    assert "0006" in up.output
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
    down = runner.invoke(app, ["--url", url, "migrate", "down", "base", "--yes"])
    assert down.exit_code == 0, down.output
    assert runner.invoke(app, ["--url", url, "health"]).exit_code == EXIT_DEGRADED


def test_history_and_tables(url: str) -> None:
    history = runner.invoke(app, ["migrate", "history"])
    assert history.exit_code == 0
    assert "0001" in history.output and "0006" in history.output
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


def test_production_destructive_needs_confirmation(monkeypatch: pytest.MonkeyPatch) -> None:
    from repo_db import get_settings

    monkeypatch.setenv("NODE_ENV", "production")
    monkeypatch.setenv("NEON_DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/none")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["drop-tables"], input="n\n")
        assert result.exit_code == EXIT_ABORTED
        assert "PRODUCTION" in result.output
    finally:
        get_settings.cache_clear()


def test_errors_are_one_line_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from repo_db import get_settings

    monkeypatch.setenv("NODE_ENV", "production")
    monkeypatch.delenv("NEON_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["migrate", "status"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == EXIT_CONFIG
    assert "NEON_DATABASE_URL" in result.output
    assert "Traceback" not in result.output


def test_unreachable_database_health_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    from repo_db import get_settings

    monkeypatch.setenv("DB_CONNECT_RETRIES", "0")
    get_settings.cache_clear()
    secret_url = "postgresql://u:hunter2@127.0.0.1:1/none"
    try:
        result = runner.invoke(app, ["--url", secret_url, "health", "--json"])
    finally:
        get_settings.cache_clear()
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
