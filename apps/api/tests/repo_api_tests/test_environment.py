"""The API takes its environment from repo_db: one definition, unknown values refused."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from repo_api.config import ApiSettings
from repo_db.config import Environment, get_settings


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("APP_ENV", "NODE_ENV", "API_ENV", "DATABASE_URL", "NEON_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, Environment.DEVELOPMENT),
        ({"NODE_ENV": "production"}, Environment.PRODUCTION),
        ({"NODE_ENV": "production", "APP_ENV": "staging"}, Environment.STAGING),
        ({"API_ENV": "production"}, Environment.DEVELOPMENT),  # not a variable any more
    ],
)
def test_the_api_environment_is_repo_db_s(
    env: pytest.MonkeyPatch, variables: dict[str, str], expected: Environment
) -> None:
    for name, value in variables.items():
        env.setenv(name, value)
    settings = ApiSettings()
    assert settings.environment is expected
    assert settings.is_production is expected.is_production  # staging counts as production
    assert (settings.effective_workers >= 2) is expected.is_production


def test_an_unknown_environment_stops_the_server(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
        "APP_ENV": "prod",
        "SQLITE_PATH": str(tmp_path / "never.sqlite3"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "repo_api", "--port", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "APP_ENV is not a known environment" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "never.sqlite3").exists()
