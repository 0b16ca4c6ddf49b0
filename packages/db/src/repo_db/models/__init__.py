"""The platform's tables as SQLAlchemy 2 typed models; importing this module registers them all."""

from repo_db.models.accounts import AuthToken, User
from repo_db.models.assessments import (
    AdaptiveStarts,
    AnswerOption,
    Assessment,
    Attempt,
    ExposureFit,
    Question,
    QuestionExposure,
    QuestionVersion,
    Response,
    Result,
)
from repo_db.models.audit import AuditEvent
from repo_db.models.base import Base
from repo_db.models.enums import (
    AssessmentStatus,
    AttemptStatus,
    FeedbackSource,
    GradingStatus,
    JobStatus,
    QuestionKind,
    Role,
    ShowAnswers,
)
from repo_db.models.intelligence import AbilityEstimate, Calibration, Feedback, ItemParameter
from repo_db.models.jobs import Job
from repo_db.models.reviews import ReviewDecision, ReviewDecisionAnswer

metadata = Base.metadata

__all__ = [
    "AbilityEstimate",
    "AdaptiveStarts",
    "AnswerOption",
    "AuditEvent",
    "Assessment",
    "AssessmentStatus",
    "Attempt",
    "AttemptStatus",
    "AuthToken",
    "Base",
    "Calibration",
    "ExposureFit",
    "Feedback",
    "FeedbackSource",
    "GradingStatus",
    "ItemParameter",
    "Job",
    "JobStatus",
    "Question",
    "QuestionExposure",
    "QuestionKind",
    "QuestionVersion",
    "Response",
    "Result",
    "ReviewDecision",
    "ReviewDecisionAnswer",
    "Role",
    "ShowAnswers",
    "User",
    "metadata",
]
