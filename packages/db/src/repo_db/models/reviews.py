"""An author's decision on a group of flagged answers, kept so it can be undone (migration 0008)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from repo_db.models.base import Base, Id, utcnow


class ReviewDecision(Base):
    """One score and comment applied to every flagged answer of a review group."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    group_id: Mapped[int] = mapped_column(Id)
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]


class ReviewDecisionAnswer(Base):
    """One answer a decision graded: the AI grade it cleared from the queue and the grade it
    wrote (NULL once that grade is gone, e.g. after an undo)."""

    __tablename__ = "review_decision_answers"

    decision_id: Mapped[int] = mapped_column(
        ForeignKey("review_decisions.id", ondelete="CASCADE"), primary_key=True
    )
    flagged_feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    graded_feedback_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback.id", ondelete="SET NULL"), index=True
    )
