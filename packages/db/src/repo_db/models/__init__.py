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
from repo_db.models.intelligence import AbilityEstimate, Calibration, Feedback, ItemParameter
from repo_db.models.jobs import JOB_STATUSES, Job

metadata = Base.metadata

__all__ = [
    "ASSESSMENT_STATUSES",
    "ATTEMPT_STATUSES",
    "GRADING_STATUSES",
    "JOB_STATUSES",
    "QUESTION_KINDS",
    "ROLES",
    "AbilityEstimate",
    "AnswerOption",
    "Assessment",
    "Attempt",
    "AuthToken",
    "Base",
    "Calibration",
    "Feedback",
    "ItemParameter",
    "Job",
    "Question",
    "Response",
    "Result",
    "User",
    "metadata",
]
