"""Boundaries enforced by the build: Pants' visibility rules reject a forbidden import.

The rules live in apps/BUILD (an app depends on its own code, packages/* and 3rdparty only),
packages/BUILD (repo_db imports no other first-party package, repo_domain only repo_db, repo_http
only repo_observability, no package imports an app) and packages/db/BUILD (repo_db's `_*.py`
modules are private to packages/db).
Pants 2.17 checks them whenever it computes dependencies, so `./pants dependencies` (and check,
test, package) fails. Each case edits a copy of the repo, never the checkout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.repo_harness import run_pants

WEB_MODULE = "apps/web/src/repo_web/__main__.py"
API_MODULE = "apps/api/src/repo_api/deps.py"
DB_MODULE = "packages/db/src/repo_db/cli.py"
DOMAIN_MODULE = "packages/domain/src/repo_domain/common.py"
DB_TEST_MODULE = "packages/db/tests/repo_db_tests/conftest.py"
HTTP_MODULE = "packages/http/src/repo_http/headers.py"


def _add_import(path: Path, line: str) -> None:
    with path.open("a") as f:
        f.write(f"\n{line}  # noqa: E402,F401 - added by test_boundaries\n")


def test_the_repo_respects_its_boundaries(repo_copy: Path) -> None:
    result = run_pants(repo_copy, "dependencies", "apps::", "packages::", check=False)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize(
    ("module", "forbidden", "rule"),
    [
        # one app importing another
        (WEB_MODULE, "import repo_api.app", "apps/BUILD[!*]"),
        # an app reaching into repo_db's private modules
        (API_MODULE, "from repo_db._engine import build_engine", "packages/db/BUILD[!*]"),
        # the database layer reaching up into the domain
        (DB_MODULE, "import repo_domain.errors", "packages/BUILD[!*]"),
        # the domain reaching into a package other than repo_db
        (DOMAIN_MODULE, "import repo_observability", "packages/BUILD[!*]"),
        # a package importing an app
        (DOMAIN_MODULE, "import repo_api.app", "packages/BUILD[!*]"),
        # the HTTP edge reaching into the database or the domain (it may use repo_observability)
        (HTTP_MODULE, "import repo_db", "packages/BUILD[!*]"),
        # a package's tests importing an app
        (DB_TEST_MODULE, "import repo_web.app", "packages/BUILD[!//apps/**]"),
    ],
    ids=[
        "web-imports-api",
        "api-imports-private-repo_db",
        "db-imports-domain",
        "domain-imports-observability",
        "domain-imports-app",
        "http-imports-db",
        "db-tests-import-app",
    ],
)
def test_a_forbidden_import_is_rejected(
    repo_copy: Path, module: str, forbidden: str, rule: str
) -> None:
    _add_import(repo_copy / module, forbidden)
    result = run_pants(repo_copy, "dependencies", module, check=False)
    assert result.returncode != 0, f"Pants accepted `{forbidden}` in {module}"
    assert "DENY" in result.stderr, result.stderr[-3000:]
    assert rule in result.stderr, result.stderr[-3000:]  # the message names the rule's file
