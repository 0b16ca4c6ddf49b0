"""The web README's page table lists exactly the routes the web app serves.

A page added without a README line, or a README line whose page is gone, fails here (the same
check as the API's endpoint table, apps/api/tests/repo_api_tests/test_readme_routes.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI

README = Path("apps/web/README.md")  # a dependency of this test (apps/web/BUILD)
METHODS = r"(?:GET|POST|PUT|PATCH|DELETE)"
# `GET/POST /manage/{id}` inside the first cell of a row of the "Pages" table.
ITEM = re.compile(rf"`({METHODS}(?:/{METHODS})*) (/[^`?\s]*)[^`]*`")


def _normal(path: str) -> str:
    return re.sub(r"{[^}]+}", "{}", path)


def readme_routes(text: str) -> set[str]:
    routes = set()
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        for methods, path in ITEM.findall(first_cell):
            routes |= {f"{method} {_normal(path)}" for method in methods.split("/")}
    return routes


def served_routes(app: FastAPI) -> set[str]:
    """The routers' pages (from the app's OpenAPI document, which the web does not serve but
    FastAPI still builds), plus the routes declared on the app itself (e.g. /healthz, which is
    left out of the document)."""
    pages = {
        f"{method.upper()} {_normal(path)}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    own = {
        f"{method} {_normal(getattr(route, 'path', ''))}"
        for route in app.routes
        for method in set(getattr(route, "methods", None) or ()) - {"HEAD"}
    }
    return pages | own


def test_readme_lists_every_page_and_nothing_else(app: FastAPI) -> None:
    documented = readme_routes(README.read_text())
    served = served_routes(app)
    assert len(documented) > 10, "no page table found in apps/web/README.md"
    assert "GET /dashboard" in served, "the app's routes were not found"
    assert sorted(served - documented) == [], "pages missing from apps/web/README.md"
    assert (
        sorted(documented - served) == []
    ), "apps/web/README.md lists pages the web does not serve"
