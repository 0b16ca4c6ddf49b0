"""The web package carries the browser code of apps/web/js and serves it under /static/js/."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from repo_web.app import create_app

MODULES = ("app.js", "autosave.js", "countdown.js", "keynav.js", "tooltip.js")


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(engine=create_engine(f"sqlite:///{tmp_path / 'web.sqlite3'}")))


@pytest.mark.parametrize("module", MODULES)
def test_browser_modules_are_served_as_javascript(client: TestClient, module: str) -> None:
    response = client.get(f"/static/js/{module}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        ("text/javascript", "application/javascript")
    )
    assert "export " in response.text or "import " in response.text


def test_entry_module_imports_every_enhancement(client: TestClient) -> None:
    entry = client.get("/static/js/app.js").text
    for module in MODULES[1:]:
        assert f'from "./{module}"' in entry


def test_unknown_static_file_is_404(client: TestClient) -> None:
    assert client.get("/static/js/nope.js").status_code == 404
