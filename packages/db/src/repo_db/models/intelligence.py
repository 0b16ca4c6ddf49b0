"""Tables owned by the AI app: item parameters, ability estimates, feedback (third migration)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from repo_db.models.base import Base, Id, utcnow


class ItemParameter(Base):
    """IRT parameters of one question (difficulty b, discrimination a, guessing c)."""

    __tablename__ = "item_parameters"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(16), default="2pl")
    difficulty: Mapped[float] = mapped_column(Float)
    discrimination: Mapped[float] = mapped_column(Float, default=1.0)
    guessing: Mapped[float] = mapped_column(Float, default=0.0)
    n_responses: Mapped[int] = mapped_column(default=0)
    calibrated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AbilityEstimate(Base):
    """A learner's latent ability (theta) on one assessment."""

    __tablename__ = "ability_estimates"
    __table_args__ = (UniqueConstraint("user_id", "assessment_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    theta: Mapped[float] = mapped_column(Float)
    standard_error: Mapped[float] = mapped_column(Float)
    n_items: Mapped[int]
    estimated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("source IN ('ai', 'human')", name="source"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(8), default="ai")
    score: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
