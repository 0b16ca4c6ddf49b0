"""Assessments, questions, options, attempts, responses and results (second migration)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from repo_db.models.base import Base, Id, utcnow
from repo_db.models.enums import (
    AssessmentStatus,
    AttemptStatus,
    GradingStatus,
    QuestionKind,
    ShowAnswers,
    check_in,
)


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint(check_in("status", AssessmentStatus), name="status"),
        # Catalogue: published assessments, keyset-paginated by id.
        Index("ix_assessments_status_id", "status", "id"),
        Index("ix_assessments_title", "title"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(
        String(16),
        default=AssessmentStatus.DRAFT.value,
        server_default=AssessmentStatus.DRAFT.value,
    )
    time_limit_seconds: Mapped[int | None]
    pass_percent: Mapped[float] = mapped_column(Float, default=60.0, server_default="60")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]
    # Computerized adaptive testing (0004, repo_domain.adaptive): stop once the SE is below target.
    adaptive: Mapped[bool] = mapped_column(default=False, server_default=false())
    adaptive_target_se: Mapped[float | None] = mapped_column(Float)
    # Attempt policy (migration 0005). NULL max_attempts = unlimited retakes; with retakes left
    # the correct answers stay hidden. The allowed values are checked by the domain and the API
    # schema, not by a CHECK constraint: adding one on SQLite means recreating `assessments`,
    # which with foreign keys on would cascade-delete every question.
    max_attempts: Mapped[int | None]
    show_answers: Mapped[str] = mapped_column(
        String(24),
        default=ShowAnswers.AFTER_LAST_ATTEMPT.value,
        server_default=ShowAnswers.AFTER_LAST_ATTEMPT.value,
    )
    closes_at: Mapped[datetime | None]
    # Adaptive test limits (0008, repo_domain.adaptive.policy_for): length bounds and the maximum
    # item exposure rate; NULL: the domain's default.
    adaptive_min_length: Mapped[int | None]
    adaptive_max_length: Mapped[int | None]
    adaptive_max_exposure: Mapped[float | None] = mapped_column(Float)


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint(check_in("kind", QuestionKind), name="kind"),
        UniqueConstraint("assessment_id", "position"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(Text)
    points: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    # numeric questions: correct value and absolute tolerance
    numeric_answer: Mapped[float | None] = mapped_column(Float)
    numeric_tolerance: Mapped[float | None] = mapped_column(Float)
    # free-text questions: model answer / rubric handed to AI grading
    reference_answer: Mapped[str | None] = mapped_column(Text)
    rubric_keywords: Mapped[list[str] | None] = mapped_column(JSON)
    # The version this row's content is (0013): 1 until a published question is corrected.
    version: Mapped[int] = mapped_column(default=1, server_default="1")


class QuestionVersion(Base):
    """One version of a question's content (0013), kept so past answers can be shown and scored
    as they were asked. ``content`` is the whole spec (kind, prompt, points, answer key, rubric,
    options with their ids); the ``questions`` row always holds the newest version.
    ``created_by_id`` is NULL for version 1 of questions that existed before 0013."""

    __tablename__ = "question_versions"
    __table_args__ = (UniqueConstraint("question_id", "version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    version: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class AnswerOption(Base):
    __tablename__ = "answer_options"
    __table_args__ = (UniqueConstraint("question_id", "position"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    is_correct: Mapped[bool] = mapped_column(default=False, server_default=false())


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint(check_in("status", AttemptStatus), name="status"),
        # A learner's history (keyset by id) and per-assessment statistics (the ids too, so
        # the statistics join reads no attempt row: migration 0007).
        Index("ix_attempts_user_id_id", "user_id", "id"),
        Index("ix_attempts_assessment_id_status_id", "assessment_id", "status", "id"),
        # At most one attempt in progress per learner and assessment, whatever the races.
        Index(
            "uq_attempts_one_in_progress",
            "user_id",
            "assessment_id",
            unique=True,
            postgresql_where=text("status = 'in_progress'"),
            sqlite_where=text("status = 'in_progress'"),
        ),
        # The AI worker's sweep (attempts left in grading without a job) reads only these:
        # without it, a scan of every attempt each sweep (migration 0010, benchmarks/capacity.py).
        Index(
            "ix_attempts_grading_id",
            "id",
            postgresql_where=text("status = 'grading'"),
            sqlite_where=text("status = 'grading'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(
        String(16),
        default=AttemptStatus.IN_PROGRESS.value,
        server_default=AttemptStatus.IN_PROGRESS.value,
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    # Adaptive attempts (0011, repo_domain.adaptive.serve): the question served last and why
    # ('next', or the reason the test stopped), persisted when it is served so a reload shows
    # the same question and its exposure is counted once. No foreign key: a deleted question
    # leaves a stale id the domain ignores (the same rule as an attempt served before 0011).
    served_question_id: Mapped[int | None] = mapped_column(Id)
    served_reason: Mapped[str | None] = mapped_column(String(32))


class Response(Base):
    """One answer per (attempt, question): saving again overwrites, which makes saves idempotent."""

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint(check_in("grading_status", GradingStatus), name="grading_status"),
        UniqueConstraint("attempt_id", "question_id"),
        # The AI grading worker polls for pending free-text responses.
        Index("ix_responses_grading_status_id", "grading_status", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    selected_option_ids: Mapped[list[int] | None] = mapped_column(JSON)
    numeric_value: Mapped[float | None] = mapped_column(Float)
    text_value: Mapped[str | None] = mapped_column(Text)
    is_correct: Mapped[bool | None]
    score: Mapped[float | None] = mapped_column(Float)
    grading_status: Mapped[str] = mapped_column(
        String(16),
        default=GradingStatus.NOT_REQUIRED.value,
        server_default=GradingStatus.NOT_REQUIRED.value,
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The question version this answer is scored against (0013): the one current when it was
    # saved or submitted, until a regrade moves it to the corrected one. It refers to
    # question_versions (question_id, version) without a FOREIGN KEY: adding one to the largest
    # table means a validating scan on PostgreSQL and a table rebuild on SQLite.
    question_version: Mapped[int] = mapped_column(default=1, server_default="1")


class Result(Base):
    __tablename__ = "results"
    __table_args__ = (
        # Statistics (count, mean, pass rate, score bands) from the index alone: migration 0007.
        Index("ix_results_assessment_id_percent_passed", "assessment_id", "percent", "passed"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    percent: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool | None]  # None while free-text answers await a grade
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When a corrected question last changed this result (0013, repo_domain.regrade).
    regraded_at: Mapped[datetime | None]


class QuestionExposure(Base):
    """How many adaptive attempts a question was served to (0011): the counter the hard exposure
    cap is claimed on (``repo_db.exposure.claim``). A missing row means 0."""

    __tablename__ = "question_exposure"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    served: Mapped[int] = mapped_column(default=0, server_default="0")


class AdaptiveStarts(Base):
    """How many adaptive attempts were started on an assessment (0011): the N of the exposure
    cap r x N (``repo_db.exposure.count_start``). A missing row means 0."""

    __tablename__ = "adaptive_starts"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True
    )
    started: Mapped[int] = mapped_column(default=0, server_default="0")


class ExposureFit(Base):
    """An adaptive assessment's stored Sympson-Hetter parameters (0013), fitted outside any
    request by the AI worker (``repo_db.exposure.save_fit``). ``fit_key`` fingerprints what the
    fit depends on (the bank's questions and item parameters, the policy, the fit's own
    settings: ``repo_domain.cat.fit_key``); a row whose key no longer matches is stale and is
    not used. ``k``: K_i in question-id order. One row per assessment: a new fit replaces it."""

    __tablename__ = "exposure_fits"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True
    )
    fit_key: Mapped[str] = mapped_column(String(64))
    k: Mapped[list[float]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float)  # how long the fit took (operations)
    fitted_at: Mapped[datetime] = mapped_column(default=utcnow)
