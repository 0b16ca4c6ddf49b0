"""Adaptive assessments in the learner flow (plain form posts): the question page serves what
repo_domain.adaptive.next_question picks and stops at its stopping rule."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from repo_db import unit_of_work
from repo_db.models import Assessment, ItemParameter, Question
from repo_domain import assessments, attempts
from repo_domain.adaptive import Reason
from repo_domain.assessments import OptionSpec, QuestionSpec
from repo_web_tests.helpers import (
    PageUser,
    location,
    log_in,
    make_assessment,
    make_user,
    option_ids,
    post,
)

# Calibrated difficulties: at theta 0 the most informative item is the third (b=0.1).
DIFFICULTIES = [-2.0, -1.0, 0.1, 1.0, 2.0, 3.0]


def _adaptive_assessment(engine: Engine, author: PageUser, *, target_se: float) -> int:
    specs = [
        QuestionSpec(
            kind="single_choice",
            prompt=f"Item {i + 1}",
            options=(OptionSpec("right", True), OptionSpec("wrong")),
        )
        for i in range(len(DIFFICULTIES))
    ]
    with unit_of_work(bind=engine) as session:
        a = assessments.create_assessment(
            session,
            actor=author.actor,
            title="Adaptive maths",
            description="",
            time_limit_seconds=None,
            pass_percent=50,
            questions=specs,
            adaptive=True,
            adaptive_target_se=target_se,
        )
        questions = session.scalars(
            select(Question).where(Question.assessment_id == a.id).order_by(Question.position)
        ).all()
        for question, b in zip(questions, DIFFICULTIES, strict=True):
            session.add(ItemParameter(question_id=question.id, difficulty=b, discrimination=2.0))
        assessments.publish(session, actor=author.actor, assessment_id=a.id)
        # One attempt: after it, show_answers (after_last_attempt) shows the marks.
        session.execute(update(Assessment).where(Assessment.id == a.id).values(max_attempts=1))
        return a.id


def _domain_pick(engine: Engine, learner: PageUser, attempt_id: int) -> attempts.NextQuestion:
    with unit_of_work(read_only=True, bind=engine) as session:
        return attempts.next_question(session, actor=learner.actor, attempt_id=attempt_id)


def _option_ids_of(engine: Engine, position: int) -> list[int]:
    """The option ids of the adaptive test's question at ``position`` (the newest test)."""
    with unit_of_work(read_only=True, bind=engine) as session:
        question = session.scalars(
            select(Question).where(Question.position == position).order_by(Question.id.desc())
        ).first()
        assert question is not None
        view = assessments.load_view(
            session, assessment=session.get(Assessment, question.assessment_id)  # type: ignore[arg-type]
        )
        return [o.id for o in view.options[question.id]]


def _position(engine: Engine, question_id: int) -> int:
    with unit_of_work(read_only=True, bind=engine) as session:
        question = session.get(Question, question_id)
        assert question is not None
        return question.position


def test_adaptive_assessment_serves_the_domains_order_and_stops(
    client: TestClient, db_engine: Engine
) -> None:
    author, learner = make_user(db_engine, role="author"), make_user(db_engine)
    assessment_id = _adaptive_assessment(db_engine, author, target_se=0.6)
    log_in(client, learner)

    start = location(post(client, f"/assessments/{assessment_id}/start"))
    attempt_id = int(re.fullmatch(r"/attempts/(\d+)/next", start).group(1))  # type: ignore[union-attr]
    attempt = f"/attempts/{attempt_id}"
    assert location(client.get(attempt)) == f"{attempt}/next"

    served: list[int] = []
    target = location(client.get(start))
    while target.startswith(f"{attempt}/questions/"):
        pick = _domain_pick(db_engine, learner, attempt_id)
        assert pick.question_id is not None
        number = int(target.rsplit("/", 1)[1])
        # The page the learner is sent to is the question the domain picks.
        assert _position(db_engine, pick.question_id) == number - 1  # positions count from 0
        page = client.get(target)
        assert page.status_code == 200
        html = page.text
        assert f"Item {number}" in html and "data-adaptive" in html
        assert "data-question-nav" not in html and "data-autosave" not in html
        assert 'value="prev"' not in html
        # Another question than the one served: back to /next, nothing saved (the domain
        # refuses the answer; the page only translates the refusal).
        other = 1 if number != 1 else 2
        assert location(client.get(f"{attempt}/questions/{other}")) == f"{attempt}/next"
        other_options = _option_ids_of(db_engine, other - 1)
        assert (
            location(
                post(
                    client,
                    f"{attempt}/questions/{other}",
                    {"option": other_options[0], "go": "next"},
                )
            )
            == f"{attempt}/next"
        )
        assert _domain_pick(db_engine, learner, attempt_id).n_answered == len(served)
        served.append(number)
        right, wrong = option_ids(html)
        assert location(post(client, target, {"option": right, "go": "next"})) == f"{attempt}/next"
        # Answered: it cannot be changed any more (the domain refuses; the page goes on).
        assert location(post(client, target, {"option": wrong, "go": "next"})) == f"{attempt}/next"
        target = location(client.get(f"{attempt}/next"))

    assert served[0] == 3  # maximum information at theta 0, not position order
    assert len(served) == len(set(served))
    state = _domain_pick(db_engine, learner, attempt_id)
    assert state.done and state.reason == Reason.TARGET_SE_REACHED
    assert len(served) < len(DIFFICULTIES)  # stopped by the rule, not by running out
    assert target == f"{attempt}/submit"
    confirm = client.get(target).text
    assert "data-adaptive" in confirm and "Not answered yet" not in confirm
    assert f"{attempt}/next" not in confirm  # nothing left to answer
    assert location(post(client, f"{attempt}/submit")) == f"{attempt}/result"
    result = client.get(f"{attempt}/result").text
    assert 'data-result="passed"' in result and "100%" in result
    # Only the served questions are listed (and scored), not the ones the test never asked.
    assert result.count('class="feedback-item') == len(served)
    assert "Not answered" not in result


def test_non_adaptive_assessment_keeps_position_order(
    client: TestClient, db_engine: Engine
) -> None:
    author, learner = make_user(db_engine, role="author"), make_user(db_engine)
    assessment_id = make_assessment(db_engine, author)
    log_in(client, learner)
    first = location(post(client, f"/assessments/{assessment_id}/start"))
    attempt = first.rsplit("/questions/", 1)[0]
    assert first.endswith("/questions/1")
    assert location(client.get(f"{attempt}/next")) == f"{attempt}/questions/1"
    html = client.get(f"{attempt}/questions/2").text
    assert "data-question-nav" in html and "data-autosave" in html
    right = option_ids(client.get(first).text)[1]
    assert (
        location(post(client, first, {"option": right, "go": "next"})) == f"{attempt}/questions/2"
    )
    assert location(client.get(f"{attempt}/next")) == f"{attempt}/questions/2"
