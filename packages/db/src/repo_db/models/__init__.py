"""The platform's tables as SQLAlchemy 2 typed models; importing this module registers them all."""

from repo_db.models.accounts import AuthToken, User
from repo_db.models.assessments import (
    AnswerOption,
    Assessment,
    Attempt,
    Question,
    Response,
    Result,
)
from repo_db.models.base import Base
from repo_db.models.enums import AssessmentStatus, AttemptStatus, GradingStatus, QuestionKind, Role
from repo_db.models.intelligence import AbilityEstimate, Feedback, ItemParameter

metadata = Base.metadata

__all__ = [
    "AbilityEstimate",
    "AnswerOption",
    "Assessment",
    "AssessmentStatus",
    "Attempt",
    "AttemptStatus",
    "AuthToken",
    "Base",
    "Feedback",
    "GradingStatus",
    "ItemParameter",
    "Question",
    "QuestionKind",
    "Response",
    "Result",
    "Role",
    "User",
    "metadata",
]
