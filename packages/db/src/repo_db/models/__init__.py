"""The platform's tables as SQLAlchemy 2 typed models; importing this module registers them all."""

from repo_db.models.accounts import ROLES, AuthToken, User
from repo_db.models.assessments import (
    ASSESSMENT_STATUSES,
    ATTEMPT_STATUSES,
    GRADING_STATUSES,
    QUESTION_KINDS,
    AnswerOption,
    Assessment,
    Attempt,
    Question,
    Response,
    Result,
)
from repo_db.models.base import Base
from repo_db.models.intelligence import AbilityEstimate, Feedback, ItemParameter

metadata = Base.metadata

__all__ = [
    "ASSESSMENT_STATUSES",
    "ATTEMPT_STATUSES",
    "GRADING_STATUSES",
    "QUESTION_KINDS",
    "ROLES",
    "AbilityEstimate",
    "AnswerOption",
    "Assessment",
    "Attempt",
    "AuthToken",
    "Base",
    "Feedback",
    "ItemParameter",
    "Question",
    "Response",
    "Result",
    "User",
    "metadata",
]
