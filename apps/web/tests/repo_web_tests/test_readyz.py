"""The web's readiness probe: the same check and body as the API's /readyz."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_readyz_reports_the_database_and_the_replica(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["migrations_current"] is True
    # the test app is handed its engine: no replica routing, reported as such
    assert body["replica"] == {"state": "not_configured", "lag_seconds": None}
