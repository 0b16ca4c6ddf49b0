from __future__ import annotations

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from repo_ai.ability import AbilityEstimate
from repo_ai.store import load_item_params, save_ability
from repo_db.models import AbilityEstimate as AbilityEstimateRow
from repo_db.models import Assessment, ItemParameter, Question, User, metadata


def test_item_params_round_trip_and_ability_upsert() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as session:
        user = User(email="a@example.com", password_hash="x", display_name="A")
        session.add(user)
        session.flush()
        assessment = Assessment(author_id=user.id, title="T")
        session.add(assessment)
        session.flush()
        question = Question(assessment_id=assessment.id, position=1, kind="numeric", prompt="1+1")
        session.add(question)
        session.flush()
        session.add(ItemParameter(question_id=question.id, difficulty=0.3, discrimination=1.2))
        session.flush()

        params = load_item_params(session, [question.id, 999])
        assert set(params) == {question.id}
        assert params[question.id].difficulty == 0.3

        for theta in (0.1, 0.9):
            save_ability(
                session,
                user_id=user.id,
                assessment_id=assessment.id,
                estimate=AbilityEstimate(theta=theta, standard_error=0.4, n_items=1),
            )
        assert session.scalar(select(func.count()).select_from(AbilityEstimateRow)) == 1
        assert session.scalars(select(AbilityEstimateRow.theta)).one() == 0.9
