"""Test helpers: fast user/token creation straight through repo_db, sample assessment bodies."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_db.models import AuthToken, User
from repo_db.security import hash_password
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
