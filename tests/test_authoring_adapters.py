"""The API and the web UI give the same verdicts on authoring, because the domain decides.

One database (SQLite and PostgreSQL), both apps on it, one author signed in to both:
(a) a web edit and an API edit of one question keep every column of the other questions
    (rubric_keywords included: a web edit once rebuilt them all without it);
(b) a prompt or option text of exactly the domain's limit is accepted by both adapters, one
    character more is refused by both;
(c) NUL bytes and absurd numbers are a 4xx (API) or a form error (web), never a 5xx.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select

from repo_api.app import create_app as create_api
from repo_api.config import ApiSettings
from repo_db import unit_of_work
from repo_db.models import AnswerOption, AuthToken, Question, QuestionKind, Role, User
from repo_db.testing import db_engine, truncate_all
from repo_domain.tokens import hash_token, new_token
from repo_domain.validation import OPTION_TEXT_MAX, PROMPT_MAX
from repo_web.app import create_app as create_web
from repo_web.config import WebSettings
from repo_web.deps import SESSION_COOKIE
from repo_web.security import CSRF_COOKIE, CSRF_FIELD

__all__ = ["db_engine"]  # the per-dialect fixture, imported (pytest_plugins only at the root)

KEYWORDS = ["full table scan|every row", "b-tree|sorted"]
QUESTIONS: list[dict[str, Any]] = [
    {
        "kind": QuestionKind.SINGLE_CHOICE,
        "prompt": "Pick B",
        "points": 2,
        "options": [{"text": "A"}, {"text": "B", "is_correct": True}],
    },
    {
        "kind": QuestionKind.FREE_TEXT,
        "prompt": "Why an index?",
        "points": 4,
        "reference_answer": "It avoids a full table scan.",
        "rubric_keywords": KEYWORDS,
    },
    {
        "kind": QuestionKind.NUMERIC,
        "prompt": "Pi to 8 digits?",
        "numeric_answer": 3.14159265,
        "numeric_tolerance": 0.0001,
    },
    {
        "kind": QuestionKind.MULTIPLE_CHOICE,
        "prompt": "Primes?",
        "options": [
            {"text": "2", "is_correct": True},
            {"text": "4"},
            {"text": "5", "is_correct": True},
        ],
    },
]


@dataclasses.dataclass
class Author:
    api: TestClient
    web: TestClient
    headers: dict[str, str]
    engine: Engine

    def web_post(self, url: str, data: dict[str, Any]) -> httpx.Response:
        if CSRF_COOKIE not in self.web.cookies:
            self.web.get("/healthz")
        return self.web.post(url, data={**data, CSRF_FIELD: self.web.cookies[CSRF_COOKIE]})

    def create(self) -> int:
        body = {"title": "Indexes", "questions": QUESTIONS}
        response = self.api.post("/assessments", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        assessment_id: int = response.json()["id"]
        return assessment_id


def _author(engine: Engine) -> tuple[dict[str, str], str]:
    token = new_token()
    with unit_of_work(bind=engine) as session:
        user = User(
            email=f"author-{datetime.now(UTC).timestamp()}@example.test",
            password_hash="not-used",
            display_name="Author",
            role=Role.AUTHOR,
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
    return {"Authorization": f"Bearer {token}"}, token


@pytest.fixture()
def author(db_engine: Engine) -> Iterator[Author]:
    api_settings = ApiSettings(rate_limit_storage="memory://").overriding_environment(
        production=False
    )
    web_settings = WebSettings(secure_cookies=False, rate_limit_storage="memory://")
    api = create_api(engine=db_engine, settings=api_settings)
    web = create_web(engine=db_engine, settings=web_settings)
    headers, token = _author(db_engine)
    try:
        with (
            TestClient(api, raise_server_exceptions=False) as api_client,
            TestClient(web, raise_server_exceptions=False, follow_redirects=False) as web_client,
        ):
            web_client.cookies.set(SESSION_COOKIE, token)
            yield Author(api=api_client, web=web_client, headers=headers, engine=db_engine)
    finally:
        truncate_all(db_engine)


def rows(engine: Engine, assessment_id: int) -> dict[int, dict[str, Any]]:
    """Every column of every question of the assessment and of its options, by question id."""
    with unit_of_work(read_only=True, bind=engine) as session:
        out: dict[int, dict[str, Any]] = {}
        for q in session.scalars(select(Question).where(Question.assessment_id == assessment_id)):
            row = {attr.key: getattr(q, attr.key) for attr in inspect(Question).column_attrs}
            options = session.scalars(
                select(AnswerOption)
                .where(AnswerOption.question_id == q.id)
                .order_by(AnswerOption.position)
            )
            row["options"] = [
                {attr.key: getattr(o, attr.key) for attr in inspect(AnswerOption).column_attrs}
                for o in options
            ]
            out[q.id] = row
        return out


def in_order(table: dict[int, dict[str, Any]]) -> list[int]:
    return sorted(table, key=lambda qid: table[qid]["position"])


def others(table: dict[int, dict[str, Any]], edited: int) -> dict[int, dict[str, Any]]:
    return {qid: row for qid, row in table.items() if qid != edited}


# --- (a) one edit leaves the other questions alone, in both adapters -----------------------


def test_a_web_edit_and_an_api_edit_keep_every_field_of_the_other_questions(
    author: Author,
) -> None:
    assessment_id = author.create()
    before = rows(author.engine, assessment_id)
    first, free, numeric, last = in_order(before)
    assert before[free]["rubric_keywords"] == KEYWORDS

    web = author.web_post(
        f"/manage/{assessment_id}/questions/1",
        {
            "prompt": "Pick B (web)",
            "points": "2",
            "option_1": "A",
            "option_2": "B",
            "correct_2": "on",
        },
    )
    assert web.status_code == 303, web.text[:500]
    after_web = rows(author.engine, assessment_id)
    assert after_web[first]["prompt"] == "Pick B (web)"
    assert others(after_web, first) == others(before, first)

    api = author.api.put(
        f"/assessments/{assessment_id}/questions/{last}",
        json={**QUESTIONS[3], "prompt": "Primes (api)?"},
        headers=author.headers,
    )
    assert api.status_code == 200, api.text
    after_api = rows(author.engine, assessment_id)
    assert after_api[last]["prompt"] == "Primes (api)?"
    assert others(after_api, last) == others(after_web, last)
    assert after_api[free]["rubric_keywords"] == KEYWORDS
    assert after_api[numeric] == before[numeric]


# --- (b) the same limit in both adapters -------------------------------------------------


def _web_question(author: Author, assessment_id: int, **changes: str) -> httpx.Response:
    form = {
        "kind": QuestionKind.SINGLE_CHOICE,
        "prompt": "?",
        "points": "1",
        "option_1": "A",
        "correct_1": "on",
        "option_2": "B",
        **changes,
    }
    return author.web_post(f"/manage/{assessment_id}/questions/new", form)


def _api_question(author: Author, assessment_id: int, **changes: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "kind": QuestionKind.SINGLE_CHOICE,
        "prompt": "?",
        "options": [{"text": "A", "is_correct": True}, {"text": "B"}],
        **changes,
    }
    return author.api.post(
        f"/assessments/{assessment_id}/questions", json=body, headers=author.headers
    )


def test_a_prompt_or_option_gets_the_same_verdict_from_both_adapters(author: Author) -> None:
    assessment_id = author.create()
    longest_prompt, too_long_prompt = "p" * PROMPT_MAX, "p" * (PROMPT_MAX + 1)
    longest_option, too_long_option = "o" * OPTION_TEXT_MAX, "o" * (OPTION_TEXT_MAX + 1)

    assert _web_question(author, assessment_id, prompt=longest_prompt).status_code == 303
    assert _api_question(author, assessment_id, prompt=longest_prompt).status_code == 201
    web = _web_question(author, assessment_id, prompt=too_long_prompt)
    assert web.status_code == 422 and 'id="field-prompt-error"' in web.text
    api = _api_question(author, assessment_id, prompt=too_long_prompt)
    assert api.status_code == 422 and api.json()["error"]["field"] == "prompt"

    assert _web_question(author, assessment_id, option_2=longest_option).status_code == 303
    options = [{"text": "A", "is_correct": True}, {"text": longest_option}]
    assert _api_question(author, assessment_id, options=options).status_code == 201
    web = _web_question(author, assessment_id, option_2=too_long_option)
    assert web.status_code == 422 and 'id="field-option_2-error"' in web.text
    options = [{"text": "A", "is_correct": True}, {"text": too_long_option}]
    api = _api_question(author, assessment_id, options=options)
    assert api.status_code == 422 and api.json()["error"]["field"] == "options[1].text"

    stored = rows(author.engine, assessment_id)
    assert sum(r["prompt"] == longest_prompt for r in stored.values()) == 2
    assert len(stored) == len(QUESTIONS) + 4


# --- (c) hostile input is a 4xx or a form error, never a 5xx -------------------------------


@pytest.mark.parametrize(
    ("field", "api_value", "web_value"),
    [
        ("prompt", "nul\x00byte", "nul\x00byte"),
        ("points", 1e308, "1e308"),
        ("points", -1, "-1"),
        ("points", 10**30, "9" * 30),
        ("option_text", "B\x00", "B\x00"),
    ],
)
def test_nul_bytes_and_absurd_numbers_in_questions(
    author: Author, field: str, api_value: Any, web_value: str
) -> None:
    assessment_id = author.create()
    if field == "option_text":
        options = [{"text": "A", "is_correct": True}, {"text": api_value}]
        api = _api_question(author, assessment_id, options=options)
        web = _web_question(author, assessment_id, option_2=web_value)
        web_field = "option_2"
    else:
        api = _api_question(author, assessment_id, **{field: api_value})
        web = _web_question(author, assessment_id, **{field: web_value})
        web_field = field
    assert 400 <= api.status_code < 500, api.text
    assert web.status_code == 422 and f'id="field-{web_field}-error"' in web.text
    assert len(rows(author.engine, assessment_id)) == len(QUESTIONS)


@pytest.mark.parametrize(
    ("field", "api_value", "web_value"),
    [
        ("numeric_answer", 1e308, "1e308"),
        ("numeric_answer", -(10**40), "-" + "9" * 40),
        ("numeric_answer", -1e308, "1e400"),  # the web's float("1e400") is inf
        ("numeric_tolerance", -1, "-1"),
        ("numeric_tolerance", 1e308, "1e308"),
        ("numeric_tolerance", 10**40, "9" * 40),
    ],
)
def test_absurd_numeric_answers(
    author: Author, field: str, api_value: float, web_value: str
) -> None:
    assessment_id = author.create()
    numeric = in_order(rows(author.engine, assessment_id))[2]
    body = {**QUESTIONS[2], field: api_value}
    api = author.api.put(
        f"/assessments/{assessment_id}/questions/{numeric}", json=body, headers=author.headers
    )
    assert 400 <= api.status_code < 500, api.text
    form = {
        "prompt": "Pi?",
        "points": "1",
        "numeric_answer": "3",
        "numeric_tolerance": "",
        field: web_value,
    }
    web = author.web_post(f"/manage/{assessment_id}/questions/3", form)
    assert web.status_code == 422 and f'id="field-{field}-error"' in web.text


@pytest.mark.parametrize(
    ("api_body", "web_form", "web_field"),
    [
        ({"time_limit_seconds": 10**30}, {"time_limit_minutes": "9" * 30}, "time_limit_minutes"),
        ({"time_limit_seconds": -1}, {"time_limit_minutes": "-1"}, "time_limit_minutes"),
        ({"pass_percent": 1e308}, {"pass_percent": "1e308"}, "pass_percent"),
        ({"pass_percent": -1}, {"pass_percent": "-1"}, "pass_percent"),
        ({"title": "nul\x00"}, {"title": "nul\x00"}, "title"),
        ({"description": "nul\x00"}, {"description": "nul\x00"}, "description"),
    ],
)
def test_nul_bytes_and_absurd_numbers_in_settings(
    author: Author, api_body: dict[str, Any], web_form: dict[str, str], web_field: str
) -> None:
    assessment_id = author.create()
    api = author.api.patch(f"/assessments/{assessment_id}", json=api_body, headers=author.headers)
    assert 400 <= api.status_code < 500, api.text
    created = author.api.post(
        "/assessments", json={"title": "T", **api_body}, headers=author.headers
    )
    assert 400 <= created.status_code < 500, created.text
    form = {"title": "T", "description": "", "time_limit_minutes": "", "pass_percent": "50"}
    for url in (f"/manage/{assessment_id}", "/manage/new"):
        web = author.web_post(url, {**form, **web_form})
        assert web.status_code == 422 and f'id="field-{web_field}-error"' in web.text, url
    minutes = author.web_post(f"/manage/{assessment_id}", {**form, "time_limit_minutes": "1e308"})
    assert minutes.status_code == 422  # was a 500 (OverflowError)
