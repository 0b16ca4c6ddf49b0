"""Page-test helpers: users with a session straight through repo_db, CSRF-carrying posts."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_db.models import AuthToken, Role, User
from repo_db.security import hash_password
from repo_domain import assessments
from repo_domain.assessments import OptionSpec, QuestionSpec
from repo_domain.common import Actor
from repo_domain.tokens import hash_token, new_token
from repo_web.deps import SESSION_COOKIE
from repo_web.security import CSRF_COOKIE, CSRF_FIELD

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


@lru_cache(maxsize=1)
def password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class PageUser:
    id: int
    email: str
    role: str
    token: str

    @property
    def actor(self) -> Actor:
        return Actor(id=self.id, role=Role(self.role))


def make_user(engine: Engine, *, role: str = "learner", name: str | None = None) -> PageUser:
    n = next(_counter)
    email = f"{role}{n}-{datetime.now(UTC).timestamp():.0f}@example.test"
    token = new_token()
    with unit_of_work(bind=engine) as session:
        user = User(
            email=email,
            password_hash=password_hash(),
            display_name=name or f"{role.title()} {n}",
            role=role,
        )
        session.add(user)
        session.flush()
        now = datetime.now(UTC)
        session.add(
            AuthToken(
                user_id=user.id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
        session.flush()
        user_id = user.id
    return PageUser(id=user_id, email=email, role=role, token=token)


def log_in(client: TestClient, user: PageUser) -> None:
    client.cookies.set(SESSION_COOKIE, user.token)


def csrf_token(client: TestClient) -> str:
    if CSRF_COOKIE not in client.cookies:
        client.get("/healthz")
    return client.cookies[CSRF_COOKIE]


def post(client: TestClient, url: str, data: dict[str, Any] | None = None) -> httpx.Response:
    return client.post(url, data={**(data or {}), CSRF_FIELD: csrf_token(client)})


def sample_specs() -> list[QuestionSpec]:
    """One question of every kind: option 2 / options 1+3 / 42±0.5 / free text."""
    return [
        QuestionSpec(
            kind="single_choice",
            prompt="2 + 2 = ?",
            points=2,
            options=(OptionSpec("3"), OptionSpec("4", True), OptionSpec("5")),
        ),
        QuestionSpec(
            kind="multiple_choice",
            prompt="Pick the primes",
            points=3,
            options=(OptionSpec("2", True), OptionSpec("4"), OptionSpec("5", True)),
        ),
        QuestionSpec(
            kind="numeric", prompt="The answer?", numeric_answer=42, numeric_tolerance=0.5
        ),
        QuestionSpec(kind="free_text", prompt="Explain recursion", points=4),
    ]


def make_assessment(
    engine: Engine,
    author: PageUser,
    *,
    title: str = "Arithmetic",
    specs: list[QuestionSpec] | None = None,
    publish: bool = True,
    time_limit_seconds: int | None = 600,
) -> int:
    with unit_of_work(bind=engine) as session:
        a = assessments.create_assessment(
            session,
            actor=author.actor,
            title=title,
            description="Numbers and words",
            time_limit_seconds=time_limit_seconds,
            pass_percent=50,
            questions=sample_specs() if specs is None else specs,
        )
        if publish:
            assessments.publish(session, actor=author.actor, assessment_id=a.id)
        return a.id


def option_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'name="option" value="(\d+)"', html)]


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return response.headers["location"]
