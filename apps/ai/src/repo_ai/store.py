"""Reads item parameters from and writes ability estimates to the shared database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from repo_ai.ability import AbilityEstimate, ItemParams
from repo_db.models import AbilityEstimate as AbilityEstimateRow
from repo_db.models import ItemParameter


def load_item_params(session: Session, question_ids: list[int]) -> dict[int, ItemParams]:
    rows = session.scalars(select(ItemParameter).where(ItemParameter.question_id.in_(question_ids)))
    return {
        row.question_id: ItemParams(row.difficulty, row.discrimination, row.guessing)
        for row in rows
    }


def save_ability(
    session: Session, *, user_id: int, assessment_id: int, estimate: AbilityEstimate
) -> AbilityEstimateRow:
    """Insert or replace the learner's estimate for this assessment (one row per pair)."""
    row = session.scalars(
        select(AbilityEstimateRow).filter_by(user_id=user_id, assessment_id=assessment_id)
    ).one_or_none()
    if row is None:
        row = AbilityEstimateRow(user_id=user_id, assessment_id=assessment_id)
        session.add(row)
    row.theta = estimate.theta
    row.standard_error = estimate.standard_error
    row.n_items = estimate.n_items
    session.flush()
    return row
