"""Words for an assessment's attempt policy (how many attempts, when marks are shown).

Only presentation: the rules (ranges, which combinations are valid, who sees what when) are
the domain's (`repo_domain.assessments`, `repo_domain.visibility`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from repo_db.models import Assessment, ShowAnswers
from repo_domain.common import as_utc

#: The choices of the settings form's select, one per member (a test checks none is missing).
SHOW_ANSWERS_LABELS: dict[ShowAnswers, str] = {
    ShowAnswers.NEVER: "Never",
    ShowAnswers.AFTER_LAST_ATTEMPT: "After their last attempt",
    ShowAnswers.AFTER_CLOSE: "After the close date",
}


def attempts_text(max_attempts: int | None) -> str:
    if max_attempts is None:
        return "Unlimited attempts"
    return f"{max_attempts} attempt{'' if max_attempts == 1 else 's'} allowed"


def marks_text(assessment: Assessment, *, learner: bool) -> str:
    """When marks and correct answers are shown, in the words of the one reading it."""
    whose = "your" if learner else "the learner's"
    show = ShowAnswers(assessment.show_answers)
    if show == ShowAnswers.NEVER:
        return "marks and correct answers are never shown"
    if show == ShowAnswers.AFTER_CLOSE:
        return "marks shown after the assessment closes"
    if assessment.max_attempts is None:
        return "marks are not shown, because attempts are unlimited"
    return f"marks shown after {whose} last attempt"


def policy_text(assessment: Assessment, *, learner: bool = True) -> str:
    """E.g. "3 attempts allowed; marks shown after your last attempt"."""
    return f"{attempts_text(assessment.max_attempts)}; {marks_text(assessment, learner=learner)}"


def datetime_local(value: datetime | None) -> str:
    """A UTC time as an `<input type="datetime-local">` value, read back to the same time
    (seconds only when there are some, so saving the form unchanged changes nothing)."""
    if value is None:
        return ""
    naive = as_utc(value).astimezone(UTC).replace(tzinfo=None)
    if naive.second == 0 and naive.microsecond == 0:
        return naive.strftime("%Y-%m-%dT%H:%M")
    return naive.isoformat()
