"""No string literal stands for an enum member in the platform's code or templates.

Roles, statuses, kinds, `show_answers` and job statuses are `StrEnum`s in `repo_db.models`. A
comparison with `"in_progress"` still works at run time, so a typo (`"in-progress"`) would be a
silently false comparison; with `AttemptStatus.IN_PROGRESS` it is an AttributeError and a mypy
error. This test walks the source of every package and app (through their modules, so Pants
makes the files part of this test's inputs) and fails on a literal where a member belongs:
in a comparison, a `.in_(...)` list, an assignment to or keyword of an enum-valued field, or a
dict entry for one. Migrations are exempt: they are frozen in time and must not follow the enums.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import repo_ai.cli
import repo_ai.worker
import repo_api.app
import repo_api.serve
import repo_db
import repo_db.bulk_seed
import repo_db.cli
import repo_domain
import repo_web.app
from repo_db import models

ENUMS: tuple[type[StrEnum], ...] = (
    models.Role,
    models.AssessmentStatus,
    models.QuestionKind,
    models.AttemptStatus,
    models.GradingStatus,
    models.ShowAnswers,
    models.JobStatus,
    models.FeedbackSource,
)
VALUES = {member.value for enum in ENUMS for member in enum}
# Columns and fields whose values are enum members.
ENUM_FIELDS = {"role", "status", "kind", "show_answers", "grading_status", "source"}
PACKAGES = (repo_db, repo_domain, repo_api.app, repo_web.app, repo_ai.cli, repo_ai.worker)


def _package_dir(module: object) -> Path:
    """The folder of a package (its __init__.py) or of a package's module."""
    return Path(getattr(module, "__file__", "")).parent


def _shown(path: Path) -> str:
    """The path from the repository root (the test runs in a sandbox that mirrors it)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def python_files() -> Iterator[Path]:
    seen: set[Path] = set()
    for module in PACKAGES:
        for path in sorted(_package_dir(module).rglob("*.py")):
            if "migrations" in path.parts or path.name == "enums.py" or path in seen:
                continue
            seen.add(path)
            yield path


def _literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in VALUES:
        return node.value
    return None


def _literals(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [v for e in node.elts if (v := _literal(e)) is not None]
    value = _literal(node)
    return [] if value is None else [value]


def _field_name(target: ast.AST) -> str | None:
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Name):
        return target.id
    return None


def enum_literals(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, literal) for every literal standing where an enum member belongs."""
    for node in ast.walk(tree):
        found: list[str] = []
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                found += _literals(operand)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("in_", "not_in"):
                for arg in node.args:
                    found += _literals(arg)
            for keyword in node.keywords:
                if keyword.arg in ENUM_FIELDS:
                    found += _literals(keyword.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and any(_field_name(t) in ENUM_FIELDS for t in targets):
                found += _literals(node.value)
        elif isinstance(node, ast.Dict):
            for key, entry in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in ENUM_FIELDS:
                    found += _literals(entry)
        for literal in found:
            yield getattr(node, "lineno", 0), literal


TEMPLATE_COMPARISON = re.compile(
    r"""(?:==|!=|\bin)\s*[(\[]?\s*['"](?P<a>[a-z_]+)['"]|['"](?P<b>[a-z_]+)['"]\s*(?:==|!=)"""
)


def template_files() -> Iterator[Path]:
    yield from sorted((_package_dir(repo_web.app) / "templates").rglob("*.html"))


def template_literals(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), 1):
        for match in TEMPLATE_COMPARISON.finditer(line):
            value = match.group("a") or match.group("b")
            if value in VALUES:
                yield number, value


def test_the_detector_finds_what_it_looks_for() -> None:
    sample = (
        'if attempt.status == "grading": pass\n'
        'q = select(Job).where(Job.status.in_(("queued", "running")))\n'
        'attempt.status = "graded"\n'
        'make(kind="numeric")\n'
        'row = {"role": "admin"}\n'
        'form.number("numeric")\n'  # a form field's name, not a member: not reported
    )
    assert sorted(enum_literals(ast.parse(sample))) == [
        (1, "grading"),
        (2, "queued"),
        (2, "running"),
        (3, "graded"),
        (4, "numeric"),
        (5, "admin"),
    ]
    page = "{% if q.kind == 'numeric' %}{% endif %}{% if f.status in ('pending',) %}{% endif %}"
    assert [v for _, v in template_literals(page)] == ["numeric", "pending"]


def test_no_python_literal_stands_for_an_enum_member() -> None:
    files = list(python_files())
    assert len(files) > 50, "the source walk found too few files"
    offences = [
        f"{_shown(path)}:{line}: {value!r}"
        for path in files
        for line, value in enum_literals(ast.parse(path.read_text(), str(path)))
    ]
    assert offences == [], "use the enum member (repo_db.models) instead:\n" + "\n".join(offences)


def test_no_template_literal_stands_for_an_enum_member() -> None:
    files = list(template_files())
    assert files, "no web templates found"
    offences = [
        f"{_shown(path)}:{line}: {value!r}"
        for path in files
        for line, value in template_literals(path.read_text())
    ]
    assert offences == [], "compare with the enum globals (repo_web.templating):\n" + "\n".join(
        offences
    )
