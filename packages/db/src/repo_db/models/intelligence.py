"""Tables owned by the AI app: calibrations, item parameters, ability estimates, feedback
(migrations 0003 and 0004)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from repo_db.models.base import Base, Id, utcnow
from repo_db.models.enums import FeedbackSource, check_in


class Calibration(Base):
    """One fit of an IRT model to an assessment's responses; its id is the calibration version."""

    __tablename__ = "calibrations"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    model: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(64))
    n_learners: Mapped[int]
    n_responses: Mapped[int]
    n_items: Mapped[int]
    iterations: Mapped[int]
    converged: Mapped[bool]
    log_likelihood: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    calibration_id: Mapped[int | None] = mapped_column(
        ForeignKey("calibrations.id", ondelete="SET NULL")
    )
    difficulty_se: Mapped[float | None] = mapped_column(Float)
    discrimination_se: Mapped[float | None] = mapped_column(Float)
    # Root mean squared difference between the observed and the model's proportion correct
    # (posterior-weighted over the quadrature): a per-item fit statistic, small is good.
    fit_rmsd: Mapped[float | None] = mapped_column(Float)


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
    calibration_id: Mapped[int | None] = mapped_column(
        ForeignKey("calibrations.id", ondelete="SET NULL")
    )


class Feedback(Base):
    """A grade with an explanation; AI grades below the confidence threshold need review."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint(check_in("source", FeedbackSource), name="source"),
        # The review queue: flagged feedback, oldest first.
        Index("ix_feedback_needs_review_id", "needs_review", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(8), default=FeedbackSource.AI.value)
    score: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confidence: Mapped[float | None] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Review group key (migration 0008): flagged answers to one question that the AI worker found
    # near-identical share it, so one author decision covers them all. It is the id of the
    # group's first response; NULL means a group of one (the response's own id).
    cluster: Mapped[int | None] = mapped_column(Id)
