"""The platform's closed vocabularies, defined once.

The models' CHECK constraints are generated from these enums (:func:`check_in`), the API schemas
and the seeders use them too. Values are stored as plain strings (``VARCHAR`` + CHECK), never
as a database ENUM type: adding a value is a CHECK change, not a type migration.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    LEARNER = "learner"
    AUTHOR = "author"
    ADMIN = "admin"


class AssessmentStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class QuestionKind(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    NUMERIC = "numeric"
    FREE_TEXT = "free_text"


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    GRADING = "grading"
    GRADED = "graded"


class GradingStatus(StrEnum):
    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    GRADED = "graded"


class ShowAnswers(StrEnum):
    """When a learner may see which answers were correct (never while retakes remain)."""

    NEVER = "never"
    AFTER_LAST_ATTEMPT = "after_last_attempt"
    AFTER_CLOSE = "after_close"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class FeedbackSource(StrEnum):
    AI = "ai"
    HUMAN = "human"


def check_in(column: str, values: type[StrEnum]) -> str:
    """The SQL of a CHECK constraint allowing exactly the enum's values, in definition order."""
    return f"{column} IN ({', '.join(repr(member.value) for member in values)})"


__all__ = [
    "AssessmentStatus",
    "AttemptStatus",
    "FeedbackSource",
    "GradingStatus",
    "JobStatus",
    "QuestionKind",
    "Role",
    "ShowAnswers",
    "check_in",
]
