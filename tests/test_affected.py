"""Affected-only runs: which tests does `--changed-since --changed-dependents=transitive` select?

The expectation is derived from the real build graph of a copy of the repo with a real edit, never
from a hard-coded list of targets.
"""

from __future__ import annotations

from pathlib import Path

from tests.repo_harness import run_pants

WORKSPACES = ("packages/db", "apps/api", "apps/web", "apps/ai")


def _append_comment(path: Path) -> None:
    with path.open("a") as f:
        f.write("\n# edited by test_affected\n")


def _affected_tests(repo: Path) -> set[str]:
    result = run_pants(
        repo,
        "--changed-since=HEAD",
        "--changed-dependents=transitive",
        "--filter-target-type=python_test",
        "list",
    )
    return {line.strip() for line in result.stdout.splitlines() if line.strip()}


def _all_tests(repo: Path) -> set[str]:
    result = run_pants(repo, "--filter-target-type=python_test", "list", "::")
    return {line.strip() for line in result.stdout.splitlines() if line.strip()}


def _workspace_of(address: str) -> str:
    return next((ws for ws in WORKSPACES if address.startswith(ws + "/")), "other")


def test_edit_in_db_retests_every_workspace(repo_copy: Path) -> None:
    _append_comment(repo_copy / "packages/db/src/repo_db/models/base.py")
    affected = _affected_tests(repo_copy)
    # Every app imports repo_db, so each workspace has tests that depend on the edited module
    # (tests of pure code, e.g. the ai app's IRT maths, rightly stay cached).
    assert {_workspace_of(t) for t in affected} >= set(WORKSPACES), sorted(affected)
    db_tests = {t for t in _all_tests(repo_copy) if _workspace_of(t) == "packages/db"}
    assert db_tests <= affected, sorted(db_tests - affected)


def test_edit_in_web_retests_only_web(repo_copy: Path) -> None:
    _append_comment(repo_copy / "apps/web/src/repo_web/catalogue.py")
    affected = _affected_tests(repo_copy)
    web_tests = {t for t in _all_tests(repo_copy) if _workspace_of(t) == "apps/web"}
    assert web_tests and web_tests <= affected, sorted(web_tests - affected)
    # No db, api or ai test; only cross-app tests in tests/ that start the web app may join.
    assert {_workspace_of(t) for t in affected} <= {"apps/web", "other"}, sorted(affected)
    assert all(t.startswith(("apps/web/", "tests/")) for t in affected), sorted(affected)
