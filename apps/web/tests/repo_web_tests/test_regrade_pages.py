"""Correcting a published question in the web UI: the form makes a new version, the preview page
shows each attempt's old and new score (and writes nothing), confirming regrades, the version
history is listed and the learner's result says it was regraded."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from repo_db import unit_of_work
from repo_db.models import Assessment, Result, Role
from repo_domain import attempts
from repo_domain.assessments import OptionSpec, QuestionSpec, load_view
from repo_domain.attempts import Answer
from repo_domain.common import Actor
from repo_web_tests.helpers import location, log_in, make_assessment, make_user, post

WRONG_KEY = QuestionSpec(
    kind="single_choice",
    prompt="2 + 2 = ?",
    points=2,
    options=(OptionSpec("3", True), OptionSpec("4"), OptionSpec("5")),
)


def _submitted(engine: Engine, learner: Actor, assessment_id: int, option: int) -> int:
    """A submitted attempt that chose option ``option`` (0-based) of the only question."""
    with unit_of_work(bind=engine) as session:
        attempt, _ = attempts.start_attempt(session, actor=learner, assessment_id=assessment_id)
        assessment = session.get(Assessment, assessment_id)
        assert assessment is not None
        view = load_view(session, assessment=assessment)
        question = view.questions[0]
        attempts.save_response(
            session,
            actor=learner,
            attempt_id=attempt.id,
            question_id=question.id,
            answer=Answer(selected_option_ids=[view.options[question.id][option].id]),
        )
        attempts.submit(session, actor=learner, attempt_id=attempt.id)
        return attempt.id


def _score(engine: Engine, attempt_id: int) -> float:
    with unit_of_work(read_only=True, bind=engine) as session:
        score = session.scalar(select(Result.score).where(Result.attempt_id == attempt_id))
        assert score is not None
        return score


def test_correct_preview_confirm_and_the_learner_sees_it(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    learner = make_user(db_engine)
    assessment_id = make_assessment(db_engine, author, specs=[WRONG_KEY])
    attempt = _submitted(db_engine, learner.actor, assessment_id, option=1)  # "4"
    assert _score(db_engine, attempt) == 0.0

    log_in(client, author)
    manage = client.get(f"/manage/{assessment_id}").text
    assert "Correct this question" in manage
    form = client.get(f"/manage/{assessment_id}/questions/1").text
    assert "Correct question 1" in form and "Save correction" in form
    fields = {"kind": "single_choice", "prompt": "2 + 2 = ?", "points": "2"}
    options = {"option_1": "3", "option_2": "4", "option_3": "5"}
    # Dropping an option is refused next to the options: answers refer to them.
    refused = post(
        client,
        f"/manage/{assessment_id}/questions/1",
        {**fields, "option_1": "3", "option_2": "4", "correct_2": "on"},
    )
    assert refused.status_code == 422 and "keeps the 3 options" in refused.text
    preview_url = location(
        post(
            client, f"/manage/{assessment_id}/questions/1", {**fields, **options, "correct_2": "on"}
        )
    )
    assert preview_url == f"/manage/{assessment_id}/questions/1/regrade"

    preview = client.get(preview_url)
    assert preview.status_code == 200
    assert "1 submitted attempt affected, 1 with a different score" in preview.text
    assert f"#{attempt}" in preview.text and "Not passed" in preview.text
    assert "Version history" in preview.text
    assert _score(db_engine, attempt) == 0.0  # the preview wrote nothing

    # The confirm form carries its own CSRF token (the helper would add one if it did not).
    token = re.search(r'name="csrf_token" value="([^"]+)"', preview.text)
    assert token is not None and token.group(1)
    done = location(post(client, preview_url))
    assert done.endswith("notice=regraded")
    assert "Regraded: the affected results" in client.get(done).text
    assert _score(db_engine, attempt) == 2.0
    assert "No submitted attempt is affected" in client.get(preview_url).text

    log_in(client, learner)
    result = client.get(f"/attempts/{attempt}/result").text
    assert "Regraded on" in result
