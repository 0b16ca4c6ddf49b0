"""End to end over real HTTP: serve `python -m repo_api` on a free loopback port with its own
SQLite file, then walk a learner through a demo assessment with httpx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from repo_api_tests.helpers import serve_api


@pytest.fixture()
def served_api(tmp_path: Path) -> Iterator[str]:
    with serve_api(tmp_path, sqlite_path=tmp_path / "e2e.sqlite3") as base:
        yield base


def _answer(question: dict[str, Any]) -> dict[str, Any]:
    if question["kind"] == "single_choice":
        return {"selected_option_ids": [question["options"][0]["id"]]}
    if question["kind"] == "multiple_choice":
        return {"selected_option_ids": [o["id"] for o in question["options"][:2]]}
    if question["kind"] == "numeric":
        return {"numeric_value": 1}
    return {"text_value": "My considered answer."}


def test_learner_journey_over_http(served_api: str) -> None:
    with httpx.Client(base_url=served_api, timeout=30) as http:
        registered = http.post(
            "/auth/register",
            json={"email": "e2e@example.org", "password": "e2e-password", "display_name": "E2E"},
        )
        assert registered.status_code == 201, registered.text
        login = http.post(
            "/auth/login", json={"email": "e2e@example.org", "password": "e2e-password"}
        )
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        assert http.get("/users/me").json()["email"] == "e2e@example.org"

        catalogue = http.get("/assessments", params={"limit": 5}).json()
        assert catalogue["items"], "demo data should include published assessments"
        assessment = http.get(f"/assessments/{catalogue['items'][0]['id']}").json()
        assert assessment["questions"]

        attempt = http.post(f"/assessments/{assessment['id']}/attempts")
        assert attempt.status_code == 201, attempt.text
        attempt_id = attempt.json()["id"]
        for question in assessment["questions"]:
            saved = http.put(
                f"/attempts/{attempt_id}/responses/{question['id']}", json=_answer(question)
            )
            assert saved.status_code == 200, saved.text
        submitted = http.post(f"/attempts/{attempt_id}/submit")
        assert submitted.status_code == 200, submitted.text
        assert http.post(f"/attempts/{attempt_id}/submit").status_code == 409

        result = http.get(f"/attempts/{attempt_id}/result")
        assert result.status_code == 200 and result.headers["x-request-id"]
        body = result.json()
        total = sum(q["points"] for q in assessment["questions"])
        assert body["attempt_id"] == attempt_id and body["max_score"] == pytest.approx(total)
        # The demo assessments allow unlimited retakes, so show_answers keeps the score hidden.
        assert body["answers_visible"] is False and body["score"] is None
        history = http.get("/attempts").json()
        assert [item["id"] for item in history["items"]] == [attempt_id]
        assert http.post("/auth/logout").status_code == 204
        assert http.get("/users/me").status_code == 401
