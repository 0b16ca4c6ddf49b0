"""End to end over real HTTP: serve `python -m repo_api` on a free loopback port with its own
SQLite file, then walk a learner through a demo assessment with httpx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

STARTUP_TIMEOUT_S = 90.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture()
def served_api(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "NEON_DATABASE_URL", "NODE_ENV", "APP_ENV"}
        and not k.startswith("API_")
    }
    env["SQLITE_PATH"] = str(tmp_path / "e2e.sqlite3")
    # The child must import exactly what this test process imports (Pants sandbox or checkout).
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
    env["API_LOG_LEVEL"] = "warning"
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "repo_api", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited early:\n{(tmp_path / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready:\n{(tmp_path / 'server.log').read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


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
        assert registered.status_code == 202, registered.text
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
        assert 0 <= body["score"] <= body["max_score"]
        history = http.get("/attempts").json()
        assert [item["id"] for item in history["items"]] == [attempt_id]
        assert http.post("/auth/logout").status_code == 204
        assert http.get("/users/me").status_code == 401
