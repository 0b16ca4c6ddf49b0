"""CI gate: every shipped migration passes squawk; a migration that locks or breaks fails it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.squawk import lint_migrations as lm

BAD_SQL = """BEGIN;
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '10min';
ALTER TABLE users ADD COLUMN nickname VARCHAR(50) NOT NULL;
CREATE INDEX ix_users_nickname ON users (nickname);
ALTER TABLE users RENAME COLUMN display_name TO name;
COMMIT;
"""


@pytest.fixture(scope="module")
def squawk() -> str:
    return lm.squawk_binary()


@pytest.mark.parametrize("rev", lm.revisions(), ids=lambda r: r.path.name)
def test_shipped_migration_passes_squawk(rev: lm.Revision, squawk: str, tmp_path: Path) -> None:
    assert rev.problems == []
    sql = lm.offline_sql(rev)
    assert "lock_timeout" in sql  # env.py sets the timeouts in every PostgreSQL migration
    status, report = lm.lint(rev, squawk, tmp_path)
    assert status == 0, report


def test_locking_and_breaking_statements_fail(squawk: str, tmp_path: Path) -> None:
    sql_file = tmp_path / "bad.sql"
    sql_file.write_text(BAD_SQL)
    status, report = lm.lint_sql(sql_file, squawk, [])
    assert status != 0
    for rule in ("adding-required-field", "require-concurrent-index-creation", "renaming-column"):
        assert rule in report
    # An accepted exception silences its rule only, and the project's exclusions still apply.
    status, report = lm.lint_sql(sql_file, squawk, ["renaming-column"])
    assert status != 0
    assert "renaming-column" not in report
    assert "prefer-text-field" not in report
    assert "adding-required-field" in report


def test_ignore_comment_needs_a_reason(tmp_path: Path) -> None:
    match = lm.IGNORE_COMMENT.match("# squawk-ignore: renaming-column -- old name kept as a view")
    assert match and match.group("rules") == "renaming-column"
    bare = lm.IGNORE_COMMENT.match("# squawk-ignore: renaming-column")
    assert bare and not bare.group("why")
