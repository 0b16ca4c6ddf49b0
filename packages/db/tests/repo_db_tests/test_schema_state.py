"""``create_tables()`` leaves a database that migrations, ``migrate status`` and health agree on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect
from typer.testing import CliRunner

from repo_db import MigrationStateError, check_health, create_tables, drop_tables, migrate
from repo_db.cli import app
from repo_db.testing import DIALECTS, temporary_database

runner = CliRunner()


@pytest.fixture(params=DIALECTS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with temporary_database(request.param, tmp_path) as engine:
        yield engine


def _cli_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_create_tables_stamps_the_head(empty_engine: Engine) -> None:
    create_tables(empty_engine)
    head = migrate.head_revision()
    assert migrate.current_revision(empty_engine) == head
    report = check_health(empty_engine)
    assert (report.status, report.current_revision) == ("ok", head), report
    status = runner.invoke(app, ["--url", _cli_url(empty_engine), "migrate", "status"])
    assert status.exit_code == 0 and "up to date" in status.output, status.output
    up = runner.invoke(app, ["--url", _cli_url(empty_engine), "migrate", "up"])
    assert up.exit_code == 0, up.output  # nothing to apply, no "table already exists"
    create_tables(empty_engine)  # idempotent
    assert migrate.current_revision(empty_engine) == head


def test_create_tables_refuses_a_database_behind_the_head(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0001")
    with pytest.raises(MigrationStateError, match="repo-db migrate up"):
        create_tables(empty_engine)
    assert set(inspect(empty_engine).get_table_names()) == {
        "alembic_version",
        "users",
        "auth_tokens",
    }


def test_drop_tables_then_create_tables_is_current_again(empty_engine: Engine) -> None:
    create_tables(empty_engine)
    drop_tables(empty_engine)
    assert inspect(empty_engine).get_table_names() == []
    assert check_health(empty_engine).status == "degraded"
    create_tables(empty_engine)
    assert check_health(empty_engine).status == "ok"
