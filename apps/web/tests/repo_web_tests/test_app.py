from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from repo_db.models import metadata
from repo_web.app import create_app


def test_catalogue_page_and_health_are_served(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    metadata.create_all(engine)
    client = TestClient(create_app(engine))
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Assessments</h1>" in page.text
    assert client.get("/healthz").json() == {"status": "ok"}
