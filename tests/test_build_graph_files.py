"""Every non-Python file of the workspaces is in the build graph: editing it re-runs some test.

Import inference puts Python (and JavaScript) modules into the graph; templates, assets, data files
and manifests get there only through a target that owns them and an explicit dependency on it. A
file that falls out of the graph lands without any test running again in affected-only runs
(`--changed-since ... --changed-dependents=transitive`), locally and in CI.

The check makes the issue's measurement (a one-line edit, then `./pants --changed-since=HEAD
--changed-dependents=transitive --filter-target-type=python_test,javascript_test list`) for all
the files in one Pants run instead of one run per file: it edits them all at once and asks for
`peek` instead of `list`, which gives each affected target with its type, sources and
dependencies. Every target that an edit of one of the files selects is in that output, so
walking its reverse edges from a file's owners gives that file's own selection.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from tests.repo_harness import copy_repo, git, run_pants

WORKSPACE_ROOTS = ("packages", "apps")
TEST_TARGET_TYPES = frozenset({"python_test", "javascript_test"})
CHANGED = ("--changed-since=HEAD", "--changed-dependents=transitive")


def _is_checked(path: str) -> bool:
    """Files whose edit must select a test.

    Not checked: Python modules (import inference places them) and BUILD files (they declare the
    targets; an edit re-selects the dependents of what they declare). The READMEs are checked:
    each app's and package's README is owned by a `files` target that a test reading it depends on.
    """
    name = PurePosixPath(path).name
    return not (name.endswith(".py") or name == "BUILD")


def checked_files(repo: Path) -> list[str]:
    tracked = git(repo, "ls-files", "-z", "--", *WORKSPACE_ROOTS).split("\0")
    return sorted(path for path in tracked if path and _is_checked(path))


class BuildGraph:
    """Targets as `./pants peek` prints them: which own a file, and which tests depend on them."""

    def __init__(self, targets: Iterable[Mapping[str, Any]]) -> None:
        self.target_type: dict[str, str] = {}
        self.owners: dict[str, set[str]] = defaultdict(set)
        self.dependents: dict[str, set[str]] = defaultdict(set)
        for target in targets:
            address = target["address"]
            self.target_type[address] = target["target_type"]
            for source in target.get("sources") or ():
                self.owners[source].add(address)
            for dependency in target.get("dependencies") or ():
                self.dependents[dependency].add(address)

    def tests_selected_by(self, path: str) -> set[str]:
        """The test targets that an edit of `path` selects.

        Pants starts from the generated targets owning the file; their generator depends on
        each of them, so starting from the generator too reaches nothing more.
        """
        seen = set(self.owners.get(path, ()))
        todo = list(seen)
        while todo:
            for dependent in self.dependents.get(todo.pop(), ()):
                if dependent not in seen:
                    seen.add(dependent)
                    todo.append(dependent)
        return {address for address in seen if self.target_type[address] in TEST_TARGET_TYPES}

    def tests(self) -> set[str]:
        return {a for a, kind in self.target_type.items() if kind in TEST_TARGET_TYPES}

    def misses(self, paths: Iterable[str]) -> list[str]:
        """One line for each file whose edit selects no test, saying why."""
        lines = []
        for path in paths:
            owners = sorted(self.owners.get(path, ()))
            if not owners:
                lines.append(f"{path}: owned by no target")
            elif not self.tests_selected_by(path):
                lines.append(f"{path}: no test depends on {', '.join(owners)}")
        return lines


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildGraph, list[str]]:
    """Every checked file edited at once in a copy, and the targets Pants calls affected."""
    repo = copy_repo(tmp_path_factory.mktemp("graph") / "repo")
    files = checked_files(repo)
    for path in files:  # a blank line at the end: valid in every format (JSON, HTML, Mako, ...)
        with (repo / path).open("a") as f:
            f.write("\n")
    assert len(git(repo, "diff", "--name-only").split()) == len(files)
    affected = run_pants(repo, *CHANGED, "peek").stdout
    return BuildGraph(json.loads(affected)), files


def test_every_non_python_file_selects_a_test(edited: tuple[BuildGraph, list[str]]) -> None:
    build_graph, files = edited
    # Templates, CSS, browser JS and its tests, data files, the JS workspace's manifests.
    assert any(f.endswith(".html") for f in files) and "apps/web/js/package.json" in files
    misses = build_graph.misses(files)
    assert not misses, f"{len(misses)} of {len(files)} files select no test:\n" + "\n".join(misses)


def test_the_walk_finds_every_test_pants_selects(edited: tuple[BuildGraph, list[str]]) -> None:
    """The per-file walk, over all files, reaches each test Pants selects for the whole edit."""
    build_graph, files = edited
    selected = build_graph.tests()
    assert selected, "Pants selected no test at all"
    walked = set().union(*(build_graph.tests_selected_by(path) for path in files))
    assert walked == selected, sorted(selected - walked)


def _target(
    address: str, target_type: str, sources: Iterable[str] = (), dependencies: Iterable[str] = ()
) -> dict[str, Any]:
    return {
        "address": address,
        "target_type": target_type,
        "sources": list(sources),
        "dependencies": list(dependencies),
    }


def test_misses_name_unowned_files_and_files_no_test_reaches() -> None:
    build_graph = BuildGraph(
        [
            _target("w:templates", "resources", ["w/page.html"], ["w/page.html:templates"]),
            _target("w/page.html:templates", "resource", ["w/page.html"]),
            _target("w:src", "python_sources", ["w/app.py"], ["w/app.py:src"]),
            _target("w/app.py:src", "python_source", ["w/app.py"], ["w:templates"]),
            _target("w/test_app.py:tests", "python_test", ["w/test_app.py"], ["w/app.py:src"]),
            _target("w:manifest", "files", ["w/package.json"]),
        ]
    )
    assert build_graph.tests_selected_by("w/page.html") == {"w/test_app.py:tests"}
    assert build_graph.misses(["w/page.html", "w/package.json", "w/package-lock.json"]) == [
        "w/package.json: no test depends on w:manifest",
        "w/package-lock.json: owned by no target",
    ]
