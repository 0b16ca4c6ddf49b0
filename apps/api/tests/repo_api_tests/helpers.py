"""Test helpers: fast user/token creation straight through repo_db, sample assessment bodies."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from repo_db import unit_of_work
from repo_db.models import AuthToken, FeedbackSource, Question, QuestionKind, Response, User
from repo_db.security import hash_password
from repo_domain import grading
from repo_domain.tokens import hash_token, new_token

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


@lru_cache(maxsize=1)
def password_hash() -> str:
    """Argon2 is deliberately slow: hash once per process and share it between test users."""
    return hash_password(PASSWORD)


@dataclass
class ApiUser:
    id: int
    email: str
    role: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)


def make_user(
    engine: Engine, *, role: str = "learner", ttl: timedelta = timedelta(hours=1), **extra: Any
) -> ApiUser:
    """A user plus a valid bearer token, inserted directly (no argon2 verify per test)."""
    n = next(_counter)
    email = f"{role}{n}-{datetime.now(UTC).timestamp():.0f}@example.test"
    token = new_token()
    with unit_of_work(bind=engine) as session:
        user = User(
            email=email,
            password_hash=password_hash(),
            display_name=f"{role.title()} {n}",
            role=role,
            **extra,
        )
        session.add(user)
        session.flush()
        now = datetime.now(UTC)
        session.add(
            AuthToken(
                user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + ttl
            )
        )
        session.flush()
        user_id = user.id
    return ApiUser(
        id=user_id,
        email=email,
        role=role,
        token=token,
        headers={"Authorization": f"Bearer {token}"},
    )


def sample_questions() -> list[dict[str, Any]]:
    """One question of every kind; correct answers: option 1 / options 0+2 / 42±0.5 / free text."""
    return [
        {
            "kind": "single_choice",
            "prompt": "2 + 2 = ?",
            "points": 2,
            "options": [
                {"text": "3"},
                {"text": "4", "is_correct": True},
                {"text": "5"},
            ],
        },
        {
            "kind": "multiple_choice",
            "prompt": "Pick the primes",
            "points": 3,
            "options": [
                {"text": "2", "is_correct": True},
                {"text": "4"},
                {"text": "5", "is_correct": True},
            ],
        },
        {
            "kind": "numeric",
            "prompt": "The answer?",
            "points": 1,
            "numeric_answer": 42,
            "numeric_tolerance": 0.5,
        },
        {
            "kind": "free_text",
            "prompt": "Explain recursion",
            "points": 4,
            "reference_answer": "A function calling itself on smaller input.",
        },
    ]


def create_assessment(
    client: TestClient,
    author: ApiUser,
    *,
    title: str = "Arithmetic",
    questions: list[dict[str, Any]] | None = None,
    publish: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    body = {"title": title, "questions": sample_questions() if questions is None else questions}
    body.update(extra)
    response = client.post("/assessments", json=body, headers=author.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    if publish:
        response = client.post(f"/assessments/{data['id']}/publish", headers=author.headers)
        assert response.status_code == 200, response.text
        data = response.json()
    return data


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Every error has the JSON shape {"error": {"code", "message"}} and the right status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    assert "Traceback" not in response.text
    error: dict[str, Any] = body["error"]
    return error


STARTUP_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_api(
    workdir: Path,
    *,
    sqlite_path: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    name: str = "server",
) -> Iterator[str]:
    """`python -m repo_api` on a free loopback port (development mode, its own SQLite file,
    migrated and demo-seeded when empty); yields the base URL once /readyz answers 200."""
    port = free_port()
    child_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "NEON_DATABASE_URL", "NODE_ENV", "APP_ENV", "REDIS_URL"}
        and not k.startswith("API_")
    }
    child_env["SQLITE_PATH"] = str(sqlite_path)
    # The child must import exactly what this test process imports (Pants sandbox or checkout).
    child_env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
    child_env["API_LOG_LEVEL"] = "warning"
    child_env.update(env or {})
    log_path = workdir / f"{name}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "repo_api", "--host", "127.0.0.1", "--port", str(port), *args],
        env=child_env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} not ready:\n{log_path.read_text()}")
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


def submitted_attempt(client: TestClient, learner: ApiUser, assessment: dict[str, Any]) -> int:
    """A submitted attempt with every question answered (free text pending grading)."""
    attempt = client.post(f"/assessments/{assessment['id']}/attempts", headers=learner.headers)
    attempt_id: int = attempt.json()["id"]
    for question in assessment["questions"]:
        body: dict[str, Any]
        if question["kind"] == QuestionKind.FREE_TEXT:
            body = {"text_value": "A function that calls itself on a smaller input."}
        elif question["kind"] == QuestionKind.NUMERIC:
            body = {"numeric_value": 42}
        else:
            body = {
                "selected_option_ids": [o["id"] for o in question["options"] if o["is_correct"]]
            }
        url = f"/attempts/{attempt_id}/responses/{question['id']}"
        assert client.put(url, json=body, headers=learner.headers).status_code == 200
    submitted = client.post(f"/attempts/{attempt_id}/submit", headers=learner.headers).json()
    assert submitted["result"]["status"] == "pending" and submitted["result"]["passed"] is None
    return attempt_id


def flag_ai_grade(engine: Engine, attempt_id: int) -> int:
    """Grade the attempt's free-text answer as the AI worker does when unsure (flagged for review);
    returns the feedback id."""
    with unit_of_work(bind=engine) as session:
        response, question = session.execute(
            select(Response, Question)
            .join(Question, Question.id == Response.question_id)
            .where(Response.attempt_id == attempt_id, Question.kind == "free_text")
        ).one()
        feedback = grading.record_grade(
            session,
            response=response,
            question=question,
            fraction=0.5,
            comment="Partly right.",
            source=FeedbackSource.AI,
            model_version="test",
            confidence=0.3,
            needs_review=True,
        )
        grading.refresh_result(session, attempt_id=attempt_id)
        session.flush()
        return feedback.id
