"""repo_db is a quiet library: it prints nothing unless the application configures logging."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging, sys
if sys.argv[1] == "configured":
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
import repo_db
repo_db.create_tables()
row = {"email": "a@example.com", "password_hash": "x", "display_name": "A"}
user = repo_db.create("users", row)
repo_db.update("users", user["id"], {"display_name": "B"})
print(repo_db.find_by("users", "email", "a@example.com")["display_name"])
"""


def _run(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
        "SQLITE_PATH": str(tmp_path / f"{mode}.sqlite3"),
        # Every statement counts as slow: the warnings exist, the question is where they go.
        "DB_SLOW_QUERY_MS": "0.000001",
    }
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=True,
    )


def test_plain_script_prints_only_its_own_output(tmp_path: Path) -> None:
    proc = _run(tmp_path, "plain")
    assert proc.stdout == "B\n"
    assert proc.stderr == ""


def test_warnings_reach_an_application_that_configures_logging(tmp_path: Path) -> None:
    proc = _run(tmp_path, "configured")
    assert proc.stdout == "B\n"
    events = [line.split()[1] for line in proc.stderr.splitlines()]
    assert "db.slow_query" in events
    assert "db.query" not in events  # the per-statement log stays off (DB_LOG_QUERIES)
