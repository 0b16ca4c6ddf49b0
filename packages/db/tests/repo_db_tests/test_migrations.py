"""Every migration on both dialects: pytest-alembic's built-in checks plus schema parity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import Engine, inspect

from repo_db import create_tables, drop_tables, migrate
from repo_db.testing import DIALECTS, temporary_database

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@pytest.fixture(params=DIALECTS)
def alembic_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with temporary_database(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture()
def alembic_config() -> Config:
    return migrate.alembic_config()


def schema_of(engine: Engine) -> dict[str, Any]:
    """A comparable description of every table (columns, keys, indexes, constraints)."""
    insp = inspect(engine)
    schema: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        if table == "alembic_version":
            continue
        schema[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default") is not None)
                for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], str(fk.get("options")))
                for fk in insp.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            ),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)
            ),
            "checks": sorted(str(c["name"]) for c in insp.get_check_constraints(table)),
        }
    return schema


def test_migrations_and_create_tables_build_the_same_schema(alembic_engine: Engine) -> None:
    migrate.upgrade(alembic_engine)
    assert migrate.current_revision(alembic_engine) == migrate.head_revision() == "0014"
    migrated = schema_of(alembic_engine)
    drop_tables(alembic_engine)
    assert inspect(alembic_engine).get_table_names() == []
    create_tables(alembic_engine)
    create_tables(alembic_engine)  # idempotent
    assert schema_of(alembic_engine) == migrated
    assert len(migrated) == 20


def test_revisions_are_the_contract() -> None:
    assert [(r.revision, r.down_revision) for r in migrate.history()] == [
        ("0001", None),
        ("0002", "0001"),
        ("0003", "0002"),
        ("0004", "0003"),
        ("0005", "0004"),
        ("0006", "0005"),
        ("0007", "0006"),
        ("0008", "0007"),
        ("0009", "0008"),
        ("0010", "0009"),
        ("0011", "0010"),
        ("0012", "0011"),
        ("0013", "0012"),
        ("0014", "0013"),
    ]
    assert migrate.next_revision_id() == "0015"


def test_step_by_step_tables(alembic_engine: Engine) -> None:
    migrate.upgrade(alembic_engine, "0001")
    assert set(inspect(alembic_engine).get_table_names()) == {
        "alembic_version",
        "users",
        "auth_tokens",
    }
    migrate.upgrade(alembic_engine, "0002")
    assert "responses" in inspect(alembic_engine).get_table_names()
    assert "feedback" not in inspect(alembic_engine).get_table_names()
    migrate.upgrade(alembic_engine)
    migrate.downgrade(alembic_engine, "0002")
    assert migrate.current_revision(alembic_engine) == "0002"
    migrate.downgrade(alembic_engine, "base")
    assert inspect(alembic_engine).get_table_names() == ["alembic_version"]
