from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repo_ai.ability import AbilityEstimate
from repo_ai.store import latest_calibration_id, save_ability
from repo_db.models import AbilityEstimate as AbilityEstimateRow
from repo_db.models import Assessment, Calibration, ItemParameter, Question, User
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
