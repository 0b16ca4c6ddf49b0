"""Both adapters (the JSON API and the web pages) against one database, for the attempt rules of
issue 16 that live in repo_domain:

* the adaptive rule: an unserved question and a changed answer are refused by both;
* the answer-visibility policy: with ``show_answers="never"`` and one attempt, everything a
  learner can fetch, before and after submitting and after the AI grader has run, is the same
  (ids and timestamps aside) whether every answer was right or every answer was wrong.

The second check uses two assessments that differ only in their answer key, answered
identically by two learners: one gets everything right, the other everything wrong.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from repo_ai.work import grade_attempt
from repo_api.app import create_app as create_api
from repo_api.config import ApiSettings
from repo_db import unit_of_work
from repo_db.models import (
    AnswerOption,
    Assessment,
    AssessmentStatus,
    AuthToken,
    Question,
    QuestionKind,
    Response,
    Result,
    Role,
    ShowAnswers,
    User,
)
from repo_db.testing import db_engine, truncate_all
from repo_domain.tokens import hash_token, new_token
from repo_web.app import create_app as create_web
from repo_web.config import WebSettings
from repo_web.deps import SESSION_COOKIE
from repo_web.security import CSRF_COOKIE, CSRF_FIELD

# Imported so pytest sees the fixture (per dialect: SQLite and PostgreSQL).
__all__ = ["db_engine"]

_counter = itertools.count(1)
LEARNER_NAME = "Same Name"
FREE_TEXT_ANSWER = "It is a function that calls itself on a smaller input."


@dataclass
class Clients:
    api: TestClient
    web: TestClient


@pytest.fixture()
def clients(db_engine: Engine) -> Iterator[Clients]:
    api_settings = ApiSettings(rate_limit_storage="memory://").overriding_environment(
        production=False
    )
    web_settings = WebSettings(secure_cookies=False, rate_limit_storage="memory://")
    try:
        with (
            TestClient(
                create_api(engine=db_engine, settings=api_settings), raise_server_exceptions=False
            ) as api,
            TestClient(
                create_web(engine=db_engine, settings=web_settings),
                raise_server_exceptions=False,
                follow_redirects=False,
            ) as web,
        ):
            yield Clients(api=api, web=web)
    finally:
        truncate_all(db_engine)


def _user(engine: Engine, role: Role, name: str | None = None) -> tuple[int, str]:
    """A user and a session token that both adapters accept (bearer / session cookie)."""
    n = next(_counter)
    token = new_token()
    now = datetime.now(UTC)
    with unit_of_work(bind=engine) as session:
        user = User(
            email=f"{role}{n}@adapters.test",
            password_hash="x",
            display_name=name or f"{role} {n}",
            role=role,
        )
        session.add(user)
        session.flush()
        session.add(
            AuthToken(
                user_id=user.id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
        return user.id, token


@dataclass
class Key:
    """Which option positions are right, the numeric answer and the free-text rubric."""

    single: int
    multiple: tuple[int, ...]
    numeric: float
    reference: str
    keywords: list[str]


RIGHT_KEY = Key(
    1, (0, 2), 42.0, "A function that calls itself on a smaller input.", ["calls itself"]
)
WRONG_KEY = Key(0, (1,), 7.0, "A loop that walks over every element of a list.", ["loop"])


def _assessment(
    engine: Engine,
    author_id: int,
    key: Key,
    *,
    adaptive: bool = False,
    show_answers: ShowAnswers = ShowAnswers.NEVER,
    max_attempts: int | None = 1,
) -> list[int]:
    """Published; returns the question ids in position order."""
    with unit_of_work(bind=engine) as session:
        assessment = Assessment(
            author_id=author_id,
            title="Recursion",
            description="Same text, different keys.",
            status=AssessmentStatus.PUBLISHED,
            pass_percent=50,
            show_answers=show_answers,
            max_attempts=max_attempts,
            adaptive=adaptive,
            published_at=datetime.now(UTC),
        )
        session.add(assessment)
        session.flush()
        specs: list[tuple[QuestionKind, dict[str, Any], list[bool]]] = [
            (QuestionKind.SINGLE_CHOICE, {}, [i == key.single for i in range(3)]),
            (QuestionKind.MULTIPLE_CHOICE, {}, [i in key.multiple for i in range(3)]),
            (QuestionKind.NUMERIC, {"numeric_answer": key.numeric}, []),
            (
                QuestionKind.FREE_TEXT,
                {"reference_answer": key.reference, "rubric_keywords": key.keywords, "points": 4},
                [],
            ),
        ]
        if adaptive:
            specs = [(QuestionKind.SINGLE_CHOICE, {}, [True, False, False])] * 3
        ids = []
        for position, (kind, extra, flags) in enumerate(specs):
            question = Question(
                assessment_id=assessment.id,
                position=position,
                kind=kind,
                prompt=f"Question {position}",
                **extra,
            )
            session.add(question)
            session.flush()
            session.add_all(
                AnswerOption(question_id=question.id, position=i, text=f"choice {i}", is_correct=ok)
                for i, ok in enumerate(flags)
            )
            ids.append(question.id)
        return ids


def _web_post(web: TestClient, url: str, data: dict[str, Any]) -> Any:
    if CSRF_COOKIE not in web.cookies:
        web.get("/healthz")
    return web.post(url, data={**data, CSRF_FIELD: web.cookies[CSRF_COOKIE]})


def _responses(engine: Engine, attempt_id: int) -> list[tuple[int, Any]]:
    with unit_of_work(read_only=True, bind=engine) as session:
        rows = session.execute(
            select(Response.question_id, Response.selected_option_ids).where(
                Response.attempt_id == attempt_id
            )
        ).all()
        return sorted((r[0], r[1]) for r in rows)


def test_both_adapters_refuse_an_unserved_adaptive_question_and_a_changed_answer(
    clients: Clients, db_engine: Engine
) -> None:
    api, web = clients.api, clients.web
    author_id, _ = _user(db_engine, Role.AUTHOR)
    questions = _assessment(db_engine, author_id, RIGHT_KEY, adaptive=True, max_attempts=None)
    _, token = _user(db_engine, Role.LEARNER)
    headers = {"Authorization": f"Bearer {token}"}
    web.cookies.set(SESSION_COOKIE, token)
    with unit_of_work(read_only=True, bind=db_engine) as session:
        assessment_id = session.scalar(
            select(Question.assessment_id).where(Question.id == questions[0])
        )
        options = {
            q: list(
                session.scalars(
                    select(AnswerOption.id)
                    .where(AnswerOption.question_id == q)
                    .order_by(AnswerOption.position)
                )
            )
            for q in questions
        }
    attempt_id = api.post(f"/assessments/{assessment_id}/attempts", headers=headers).json()["id"]
    served = api.get(f"/attempts/{attempt_id}/next-question", headers=headers).json()
    served_id = served["question_id"]
    unserved_id = next(q for q in questions if q != served_id)
    number = {q: i for i, q in enumerate(questions, 1)}

    def api_put(question_id: int, position: int) -> Any:
        return api.put(
            f"/attempts/{attempt_id}/responses/{question_id}",
            json={"selected_option_ids": [options[question_id][position]]},
            headers=headers,
        )

    def web_post(question_id: int, position: int) -> Any:
        return _web_post(
            web,
            f"/attempts/{attempt_id}/questions/{number[question_id]}",
            {"option": options[question_id][position], "go": "next"},
        )

    # An unserved question: the API answers 409, the web sends the learner to the served one.
    refused = api_put(unserved_id, 0)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "adaptive_not_served"
    redirect = web_post(unserved_id, 0)
    assert redirect.status_code == 303
    assert redirect.headers["location"] == f"/attempts/{attempt_id}/next"
    assert _responses(db_engine, attempt_id) == []

    # The served question, answered through the web; then changed through either adapter.
    assert web_post(served_id, 1).headers["location"] == f"/attempts/{attempt_id}/next"
    saved = [(served_id, [options[served_id][1]])]
    assert _responses(db_engine, attempt_id) == saved
    changed = api_put(served_id, 0)
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "adaptive_answer_final"
    assert web_post(served_id, 0).headers["location"] == f"/attempts/{attempt_id}/next"
    assert _responses(db_engine, attempt_id) == saved
    assert api_put(served_id, 1).status_code == 200  # the same answer again: idempotent


_TIMES = [
    re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"),
    re.compile(r"\d\d \w{3} \d{4}, \d\d:\d\d UTC"),
]
_HTML_IDS = [
    (re.compile(r"/(attempts|assessments|reviews)/\d+"), r"/\1/ID"),
    (re.compile(r"\b(option|score|comment|review)-\d+"), r"\1-ID"),
    (re.compile(r'\b(value|data-id|data-feedback-id)="\d+"'), r'\1="ID"'),
]


def _html(text: str) -> str:
    for pattern, repl in _HTML_IDS:
        text = pattern.sub(repl, text)
    for pattern in _TIMES:
        text = pattern.sub("TIME", text)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _scrub(v)
            for k, v in value.items()
            if not (k == "id" or k.endswith(("_id", "_ids", "_at")))
        }
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _json(response: Any) -> str:
    return f"{response.status_code} " + json.dumps(_scrub(response.json()), sort_keys=True)


def _learner_views(
    clients: Clients, engine: Engine, questions: list[int], token: str
) -> list[tuple[str, str]]:
    """Every learner-visible API answer and web page along the way, ids and times removed."""
    api, web = clients.api, clients.web
    headers = {"Authorization": f"Bearer {token}"}
    web.cookies.set(SESSION_COOKIE, token)
    seen: list[tuple[str, str]] = []

    def api_get(label: str, url: str) -> None:
        seen.append((label, _json(api.get(url, headers=headers))))

    def page(label: str, url: str) -> None:
        response = web.get(url)
        seen.append((label, f"{response.status_code} {_html(response.text)}"))

    with unit_of_work(read_only=True, bind=engine) as session:
        assessment_id = session.scalar(
            select(Question.assessment_id).where(Question.id == questions[0])
        )
        positions = {
            q: list(
                session.scalars(
                    select(AnswerOption.id)
                    .where(AnswerOption.question_id == q)
                    .order_by(AnswerOption.position)
                )
            )
            for q in questions
        }
    api_get("api assessment", f"/assessments/{assessment_id}")
    page("web dashboard before", "/dashboard")
    page("web assessment", f"/assessments/{assessment_id}")
    started = api.post(f"/assessments/{assessment_id}/attempts", headers=headers)
    seen.append(("api start", _json(started)))
    attempt_id = started.json()["id"]
    single, multiple, numeric, free = questions
    answers = {
        single: {"selected_option_ids": [positions[single][1]]},
        multiple: {"selected_option_ids": [positions[multiple][0], positions[multiple][2]]},
        numeric: {"numeric_value": 42},
    }
    for n, (question_id, body) in enumerate(answers.items(), 1):
        saved = api.put(
            f"/attempts/{attempt_id}/responses/{question_id}", json=body, headers=headers
        )
        seen.append((f"api save {n}", _json(saved)))
    typed = _web_post(
        web, f"/attempts/{attempt_id}/questions/4", {"text": FREE_TEXT_ANSWER, "go": "review"}
    )
    seen.append(("web save free text", f"{typed.status_code} {_html(typed.headers['location'])}"))
    api_get("api attempt in progress", f"/attempts/{attempt_id}")
    api_get("api no result yet", f"/attempts/{attempt_id}/result")
    api_get("api next-question", f"/attempts/{attempt_id}/next-question")
    api_get("api history in progress", "/attempts")
    for n in range(1, 5):
        page(f"web question {n}", f"/attempts/{attempt_id}/questions/{n}")
    page("web confirm", f"/attempts/{attempt_id}/submit")
    page("web dashboard in progress", "/dashboard")

    submitted = api.post(f"/attempts/{attempt_id}/submit", headers=headers)
    seen.append(("api submit", _json(submitted)))

    def after(stage: str) -> None:
        api_get(f"api result {stage}", f"/attempts/{attempt_id}/result")
        api_get(f"api attempt {stage}", f"/attempts/{attempt_id}")
        api_get(f"api history {stage}", "/attempts")
        api_get(f"api feedback {stage}", f"/attempts/{attempt_id}/feedback")
        page(f"web result {stage}", f"/attempts/{attempt_id}/result")
        page(f"web dashboard {stage}", "/dashboard")
        page(f"web question page {stage}", f"/attempts/{attempt_id}/questions/1")

    after("submitted")
    with unit_of_work(bind=engine) as session:  # what apps/ai's worker does next
        grade_attempt(session, attempt_id=attempt_id, review_threshold=0.6)
    after("graded")
    return seen


def _archive(engine: Engine, question_id: int) -> None:
    """Take the question's assessment out of the catalogue (its attempts and results stay)."""
    with unit_of_work(bind=engine) as session:
        assessment_id = session.scalar(
            select(Question.assessment_id).where(Question.id == question_id)
        )
        session.execute(
            update(Assessment)
            .where(Assessment.id == assessment_id)
            .values(status=AssessmentStatus.ARCHIVED)
        )


def test_with_show_answers_never_all_right_and_all_wrong_look_the_same(
    clients: Clients, db_engine: Engine
) -> None:
    author_id, _ = _user(db_engine, Role.AUTHOR)
    _, right_token = _user(db_engine, Role.LEARNER, LEARNER_NAME)
    _, wrong_token = _user(db_engine, Role.LEARNER, LEARNER_NAME)

    # One assessment in the catalogue at a time: each learner's dashboard then lists only the
    # assessment they take (with both listed, "New" and "In progress" sat on different cards).
    right_questions = _assessment(db_engine, author_id, RIGHT_KEY)
    right = _learner_views(clients, db_engine, right_questions, right_token)
    _archive(db_engine, right_questions[0])
    wrong_questions = _assessment(db_engine, author_id, WRONG_KEY)
    wrong = _learner_views(clients, db_engine, wrong_questions, wrong_token)

    # The two attempts really differ in correctness (so the equality below means something).
    with unit_of_work(read_only=True, bind=db_engine) as session:
        scores = dict(session.execute(select(Result.assessment_id, Result.score)).tuples().all())
        questions = dict(
            session.execute(
                select(Question.id, Question.assessment_id).where(
                    Question.id.in_([right_questions[0], wrong_questions[0]])
                )
            )
            .tuples()
            .all()
        )
        assert session.scalar(select(func.count()).select_from(Result)) == 2
    assert scores[questions[right_questions[0]]] == 7.0  # every point (the AI gave full marks)
    assert scores[questions[wrong_questions[0]]] == 0.0

    assert [label for label, _ in right] == [label for label, _ in wrong]
    for (label, seen_right), (_, seen_wrong) in zip(right, wrong, strict=True):
        assert seen_right == seen_wrong, label
    # And the views did say something: submitted, graded, no marks.
    final = dict(right)
    assert '"status": "final"' in final["api result graded"]
    assert '"score": null' in final["api result graded"]
    assert final["api feedback graded"] == "200 []"
    assert final["api next-question"].startswith("409 ")  # not an adaptive assessment
