"""Affected-only runs: which tests does `--changed-since --changed-dependents=transitive` select?

Each case makes a real edit in a copy of the repo and lists the tests Pants selects. The
expectation comes from the forward build graph (`./pants dependencies --transitive`) and from the
files themselves, never from a hard-coded list of targets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.repo_harness import copy_repo, run_pants

APPS = ("apps/api", "apps/web", "apps/ai")
# Most specific first: the JS workspace lives inside apps/web.
WORKSPACES = ("apps/web/js", "packages/db", "packages/domain", *APPS)
# Comma-separated means either type (the flag given twice would mean both at once).
TEST_TYPES = ("--filter-target-type=python_test,javascript_test",)


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def _workspace_of(address: str) -> str:
    return next((ws for ws in WORKSPACES if address.startswith(ws + "/")), "other")


@dataclass(frozen=True)
class Graph:
    tests: set[str]  # every test target of the repo
    app_dependencies: dict[str, set[str]]  # each app's transitive dependencies

    def tests_of(self, workspace: str) -> set[str]:
        return {t for t in self.tests if _workspace_of(t) == workspace}

    def apps_using(self, package: str) -> set[str]:
        return {
            app
            for app, deps in self.app_dependencies.items()
            if any(d.startswith(package + "/") for d in deps)
        }


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Graph:
    repo = copy_repo(tmp_path_factory.mktemp("graph") / "repo")
    tests = _lines(run_pants(repo, *TEST_TYPES, "list", "::").stdout)
    deps = {
        app: _lines(run_pants(repo, "dependencies", "--transitive", f"{app}::").stdout)
        for app in APPS
    }
    return Graph(tests, deps)


def _edit(path: Path, comment: str = "#") -> None:
    with path.open("a") as f:
        f.write(f"\n{comment} edited by test_affected\n")


def _affected_tests(repo: Path) -> set[str]:
    result = run_pants(
        repo, "--changed-since=HEAD", "--changed-dependents=transitive", *TEST_TYPES, "list"
    )
    return _lines(result.stdout)


def _by_workspace(tests: set[str]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for t in tests:
        grouped.setdefault(_workspace_of(t), set()).add(t)
    return grouped


def test_edit_in_db_retests_every_python_workspace(repo_copy: Path, graph: Graph) -> None:
    _edit(repo_copy / "packages/db/src/repo_db/models/base.py")
    affected = _by_workspace(_affected_tests(repo_copy))
    # Every workspace imports repo_db, so each has tests that depend on the edited module (tests of
    # pure code, e.g. the ai app's IRT maths, rightly stay cached).
    for ws in ("packages/db", "packages/domain", *APPS):
        if graph.tests_of(ws):
            assert affected.get(ws), f"no {ws} test selected: {sorted(affected)}"
    assert graph.tests_of("packages/db") <= affected["packages/db"]
    # The browser code does not import the database.
    assert not affected.get("apps/web/js"), sorted(affected.get("apps/web/js", ()))


def test_edit_in_domain_retests_domain_and_the_apps_using_it(repo_copy: Path, graph: Graph) -> None:
    _edit(repo_copy / "packages/domain/src/repo_domain/errors.py")
    affected = _by_workspace(_affected_tests(repo_copy))
    users = graph.apps_using("packages/domain")
    assert "apps/api" in users  # the API is built on the domain package
    expected = {"packages/domain", *users, "other"}
    assert set(affected) <= expected, f"outside {sorted(expected)}: {sorted(affected)}"
    assert graph.tests_of("packages/domain") <= affected.get("packages/domain", set())
    for app in users:
        assert affected.get(app), f"{app} uses packages/domain but none of its tests was selected"


def test_edit_in_web_retests_only_web(repo_copy: Path, graph: Graph) -> None:
    _edit(repo_copy / "apps/web/src/repo_web/app.py")
    affected = _affected_tests(repo_copy)
    grouped = _by_workspace(affected)
    # every web Python test imports the package
    assert graph.tests_of("apps/web") <= grouped.get("apps/web", set())
    # No db, domain, api or ai test; only cross-app tests in tests/ that start the web app.
    assert set(grouped) <= {"apps/web", "apps/web/js", "other"}, sorted(affected)
    assert all(t.startswith(("apps/web/", "tests/")) for t in affected), sorted(affected)


def test_edit_in_browser_code_retests_its_js_tests_and_what_serves_it(
    repo_copy: Path, graph: Graph
) -> None:
    module = "countdown.js"
    _edit(repo_copy / "apps/web/js/src" / module, comment="//")
    affected = _affected_tests(repo_copy)
    grouped = _by_workspace(affected)
    # The JS tests that import the module, read from the test files themselves.
    importing = {
        path.name
        for path in (repo_copy / "apps/web/js/tests").glob("*.test.js")
        if re.search(rf"from \"\.\./src/{re.escape(module)}\"", path.read_text())
    }
    assert importing, "no JS test imports the edited module"
    selected_js = {t.split(":")[0].split("/")[-1] for t in grouped.get("apps/web/js", ())}
    assert selected_js == importing, sorted(affected)
    # The web package carries the file (and the dev launcher serves it): those may re-run, but
    # nothing of db, domain, api or ai.
    assert set(grouped) <= {"apps/web/js", "apps/web", "other"}, sorted(affected)
    assert all(t.startswith(("apps/web/", "tests/")) for t in affected), sorted(affected)
