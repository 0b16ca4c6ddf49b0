from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repo_ai.ability import AbilityEstimate
from repo_ai.store import latest_calibration_id, reviewed_answers, save_ability
from repo_db.models import AbilityEstimate as AbilityEstimateRow
from repo_db.models import (
    Assessment,
    Attempt,
    Calibration,
    Feedback,
    FeedbackSource,
    ItemParameter,
    Question,
    Response,
    User,
)
from repo_domain import adaptive
from repo_domain.irt import UNCALIBRATED_DIFFICULTY


def test_item_params_and_ability_upsert(db_session: Session) -> None:
    session = db_session
    user = User(email="a@example.com", password_hash="x", display_name="A")
    session.add(user)
    session.flush()
    assessment = Assessment(author_id=user.id, title="T")
    session.add(assessment)
    session.flush()
    question = Question(assessment_id=assessment.id, position=1, kind="numeric", prompt="1+1")
    session.add(question)
    session.flush()
    calibrations = [
        Calibration(
            assessment_id=assessment.id,
            model="2pl",
            method="test",
            n_learners=1,
            n_responses=1,
            n_items=1,
            iterations=1,
            converged=True,
        )
        for _ in range(2)
    ]
    session.add_all(calibrations)
    session.flush()
    session.add(
        ItemParameter(
            question_id=question.id,
            difficulty=0.3,
            discrimination=1.2,
            difficulty_se=0.1,
            calibration_id=calibrations[1].id,
        )
    )
    session.flush()

    # The AI app reads item parameters through the domain's loader (one copy, not two).
    params = adaptive.load_item_params(session, [question.id, 999])
    assert params[question.id].difficulty == 0.3
    assert params[999].difficulty == UNCALIBRATED_DIFFICULTY  # not calibrated: the default
    assert latest_calibration_id(session, assessment.id) == calibrations[1].id

    for theta in (0.1, 0.9):
        save_ability(
            session,
            user_id=user.id,
            assessment_id=assessment.id,
            estimate=AbilityEstimate(theta=theta, standard_error=0.4, n_items=1),
            calibration_id=calibrations[1].id,
        )
    assert session.scalar(select(func.count()).select_from(AbilityEstimateRow)) == 1
    row = session.scalars(select(AbilityEstimateRow)).one()
    assert (row.theta, row.calibration_id) == (0.9, calibrations[1].id)


def test_reviewed_answers_are_the_latest_human_grades_of_a_question(db_session: Session) -> None:
    session = db_session
    user = User(email="r@example.com", password_hash="x", display_name="R")
    session.add(user)
    session.flush()
    assessment = Assessment(author_id=user.id, title="T")
    session.add(assessment)
    session.flush()
    question, other = (
        Question(assessment_id=assessment.id, position=i, kind="free_text", prompt="Why?", points=2)
        for i in (1, 2)
    )
    session.add_all([question, other])
    session.flush()

    def answer(q: Question, text: str, *grades: tuple[str, float]) -> None:
        attempt = Attempt(assessment_id=assessment.id, user_id=user.id, status="graded")
        session.add(attempt)
        session.flush()
        response = Response(attempt_id=attempt.id, question_id=q.id, text_value=text)
        session.add(response)
        session.flush()
        for source, score in grades:  # in order: the last one is the latest
            session.add(
                Feedback(
                    response_id=response.id,
                    source=source,
                    score=score,
                    comment="",
                    model_version="t",
                )
            )
            session.flush()

    answer(question, "reviewed right", (FeedbackSource.AI, 1.0), (FeedbackSource.HUMAN, 2.0))
    answer(question, "reviewed half", (FeedbackSource.AI, 0.0), (FeedbackSource.HUMAN, 1.0))
    answer(question, "ai only", (FeedbackSource.AI, 2.0))
    answer(question, "undone", (FeedbackSource.HUMAN, 2.0), (FeedbackSource.AI, 0.0))
    answer(other, "other question", (FeedbackSource.HUMAN, 2.0))

    assert reviewed_answers(session, question.id) == [
        ("reviewed half", 0.5),
        ("reviewed right", 1.0),
    ]
    assert reviewed_answers(session, question.id, limit=1) == [("reviewed half", 0.5)]
    assert reviewed_answers(session, 999) == []
