"""The `repo-db` wheel works outside the monorepo: install it into a brand-new venv and use it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

# What repo_db really imports; each must be declared, with a version range, in the wheel's metadata.
RUNTIME_REQUIREMENTS = {"sqlalchemy", "psycopg", "alembic", "typer", "rich", "pydantic-settings"}
# Test-only tools must not leak into a production install.
TEST_ONLY = {"pytest", "hypothesis", "pytest-alembic", "mypy"}


def _project_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return match.group(0).lower()


def _built(pattern: str) -> Path:
    # runtime_package_dependencies puts `./pants package packages/db` output into the sandbox.
    found = sorted(Path.cwd().rglob(pattern))
    assert len(found) == 1, f"expected one {pattern} in the sandbox, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def installed_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel = _built("repo_db-*.whl")
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    subprocess.run(
        [env_dir / "bin/python", "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        cwd=env_dir,
    )
    return env_dir


def test_sdist_is_built_beside_the_wheel() -> None:
    assert _built("repo-db-*.tar.gz").stat().st_size > 0


def test_wheel_imports_and_exposes_the_public_api(installed_venv: Path) -> None:
    out = subprocess.run(
        [
            installed_venv / "bin/python",
            "-c",
            "import json, repo_db; print(json.dumps(sorted(repo_db.__all__)))",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=installed_venv,  # not the sandbox: the import must come from the installed wheel
    )
    public = set(json.loads(out.stdout))
    assert {"DbService", "find_by_id", "find_by", "create", "update", "create_tables"} <= public
    # The seed's `@repo/db` types, public again (issue 16).
    assert {"DbRecord", "WhereCondition", "RowId"} <= public


def test_wheel_exports_the_seed_types(installed_venv: Path) -> None:
    script = "from repo_db import DbRecord, RowId, WhereCondition; print(DbRecord, WhereCondition)"
    out = subprocess.run(
        [installed_venv / "bin/python", "-c", script],
        check=True,
        capture_output=True,
        text=True,
        cwd=installed_venv,
    )
    assert out.stdout.split() == [
        "dict[str,",
        "typing.Any]",
        "collections.abc.Mapping[str,",
        "typing.Any]",
    ]


def test_console_script_runs(installed_venv: Path) -> None:
    out = subprocess.run(
        [installed_venv / "bin/repo-db", "--help"],
        check=True,
        capture_output=True,
        text=True,
        cwd=installed_venv,
    )
    assert "migrate" in out.stdout
    assert "seed" in out.stdout


def test_metadata_declares_real_requirements_with_ranges(installed_venv: Path) -> None:
    out = subprocess.run(
        [
            installed_venv / "bin/python",
            "-c",
            "import json, importlib.metadata as m; print(json.dumps(m.requires('repo-db')))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    requires: list[str] = json.loads(out.stdout)
    names = {_project_name(r) for r in requires}
    assert names >= RUNTIME_REQUIREMENTS, sorted(RUNTIME_REQUIREMENTS - names)
    assert not (TEST_ONLY & names), sorted(TEST_ONLY & names)
    unbounded = [r for r in requires if not any(op in r for op in ("<", "=="))]
    assert not unbounded, f"requirements without an upper bound: {unbounded}"
    assert sys.version_info >= (3, 11)


PLAIN_SCRIPT = """
import repo_db

repo_db.create_tables()
user = repo_db.create(
    "users", {"email": "ada@example.com", "password_hash": "x", "display_name": "Ada"}
)
repo_db.update("users", user["id"], {"display_name": "Ada L."})
found = repo_db.find_by("users", "email", "ada@example.com")
print(found["display_name"], repo_db.count("users"), repo_db.DbService.find_by_id("users", 1)["id"])
print(repo_db.check_health().status)
"""


def test_plain_script_prints_only_its_own_output(installed_venv: Path, tmp_path: Path) -> None:
    """A library is quiet: no SQL echo, no log lines, unless the application configures logging."""
    env = {
        "PATH": str(installed_venv / "bin"),
        "SQLITE_PATH": str(tmp_path / "plain.sqlite3"),
        # Every statement counts as slow: the warnings exist, and must still not be printed.
        "DB_SLOW_QUERY_MS": "0.000001",
    }
    out = subprocess.run(
        [installed_venv / "bin/python", "-c", PLAIN_SCRIPT],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert out.stdout == "Ada L. 1 1\nok\n"
    assert out.stderr == ""
