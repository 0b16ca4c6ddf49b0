"""The API README's endpoint table lists exactly the routes of the OpenAPI document.

A route added without a README line, or a README line whose route is gone, fails here: the table
is the first thing a client developer reads.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI

README = Path("apps/api/README.md")  # a dependency of this test (apps/api/BUILD)
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
# A table row: | `METHOD /path?query` | who | what |
ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)[^`]*`\s*\|")


def readme_routes(text: str) -> set[str]:
    routes = set()
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            method, path = match.groups()
            routes.add(f"{method} {re.sub(r'{[^}]+}', '{}', path)}")
    return routes


def openapi_routes(app: FastAPI) -> set[str]:
    return {
        f"{method.upper()} {re.sub(r'{[^}]+}', '{}', path)}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }


def test_readme_lists_every_route_and_nothing_else(app: FastAPI) -> None:
    documented = readme_routes(README.read_text())
    served = openapi_routes(app) - {"GET /_bench/baseline"}  # benchmarks only, off by default
    assert documented, "no endpoint table found in apps/api/README.md"
    assert served - documented == set(), "routes missing from apps/api/README.md"
    assert documented - served == set(), "apps/api/README.md lists routes the API does not serve"
