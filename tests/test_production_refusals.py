"""Production refuses what it must, the same way in all three serving processes: an unknown
environment, SQLite in production or staging, no database URL in production, and (for the api
and the web, which need the throttle store) no Redis and no device-cookie secret. Each is ONE
line on stderr naming the problem and what to set, exit status 2, no traceback, no secret,
nothing touched on disk.

The processes are the real ones (`python -m ...`): a refusal happens before any server or
worker starts, so each run takes about the time of its imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROCESSES = {
    "api": ["-m", "repo_api", "--port", "1"],
    "web": ["-m", "repo_web", "--port", "1"],
    "ai": ["-m", "repo_ai", "worker", "--drain"],
}
SECRET = "hunter2"
UNREACHABLE_PG = f"postgresql://app:{SECRET}@127.0.0.1:1/none"

# (name, environment, the fragment the one line must contain, processes refusing it)
CASES = [
    (
        "unknown-environment",
        {"APP_ENV": "prod"},
        "APP_ENV is not a known environment",
        "api web ai",
    ),
    (
        "unknown-node-env",
        {"NODE_ENV": "live", "DATABASE_URL": UNREACHABLE_PG},
        "NODE_ENV is not a known environment",
        "api web ai",
    ),
    (
        "sqlite-in-production",
        {"APP_ENV": "production", "DATABASE_URL": "sqlite:///{tmp}/prod.sqlite3"},
        "DATABASE_URL is a SQLite database",
        "api web ai",
    ),
    (
        "sqlite-in-staging",
        {"NODE_ENV": "staging", "DATABASE_URL": "sqlite:///{tmp}/prod.sqlite3"},
        "the environment is staging but DATABASE_URL is a SQLite database",
        "api web ai",
    ),
    (
        "no-database-url-in-production",
        {"APP_ENV": "production"},
        "NEON_DATABASE_URL is not set",
        "api web ai",
    ),
    (
        "no-redis-in-production",
        {"APP_ENV": "production", "DATABASE_URL": UNREACHABLE_PG},
        "set REDIS_URL",
        "api web",
    ),
    (
        "no-device-cookie-secret-in-production",
        {
            "APP_ENV": "production",
            "DATABASE_URL": UNREACHABLE_PG,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
        "DEVICE_COOKIE_SECRET",
        "api web",
    ),
    (
        "test-only-hold-switch-in-production",
        {
            "APP_ENV": "production",
            "DATABASE_URL": UNREACHABLE_PG,
            "AI_TEST_ONLY_HOLD_AFTER_CLAIM": "{tmp}/hold",
        },
        "AI_TEST_ONLY_HOLD_AFTER_CLAIM is a test-only switch",
        "ai",
    ),
    (
        "invalid-app-setting",
        {"API_PORT": "many", "WEB_PAGE_SIZE": "0", "AI_LEASE_SECONDS": "-1"},
        "invalid environment variable",
        "api web ai",
    ),
]

REFUSAL_WAIT_SECONDS = 240


def _start(process: str, variables: dict[str, str], tmp_path: Path) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        # The child imports exactly what this test process imports (Pants sandbox or checkout).
        "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
        "SQLITE_PATH": str(tmp_path / "dev.sqlite3"),
        **{name: value.format(tmp=tmp_path) for name, value in variables.items()},
    }
    return subprocess.Popen(
        [sys.executable, *PROCESSES[process]],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    ("variables", "expected", "processes"),
    [
        pytest.param(variables, expected, processes, id=name)
        for name, variables, expected, processes in CASES
    ],
)
def test_a_refusal_is_one_line_and_exit_status_2(
    tmp_path: Path, variables: dict[str, str], expected: str, processes: str
) -> None:
    # The processes of one case start together: the test takes about one start-up, not three.
    running = {process: _start(process, variables, tmp_path) for process in processes.split()}
    for process, proc in running.items():
        try:
            # A refusal takes ~3 s on a quiet machine; the bound only stops a process that serves
            # instead of refusing (at load average 20 the imports alone took over 60 s).
            stdout, stderr = proc.communicate(timeout=REFUSAL_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(
                f"{process} did not refuse within {REFUSAL_WAIT_SECONDS} s: {proc.communicate()}"
            )
        assert proc.returncode == 2, (process, stdout + stderr)
        assert "Traceback" not in stderr, (process, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, (process, stderr)
        assert lines[0].startswith("error: ") and expected in lines[0], (process, lines[0])
        assert SECRET not in stderr + stdout
    assert list(tmp_path.iterdir()) == []  # no SQLite file created, nothing migrated
