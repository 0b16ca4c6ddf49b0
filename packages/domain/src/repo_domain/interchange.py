"""QTI import into a new draft, and export of an assessment as a QTI 3.0 content package.

The file handling is `repo_domain.qti` (no database); this module adds who may do it and the
rows: an import is one `create_assessment` call, so a refused file or a question that breaks a
rule leaves nothing behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from repo_db.models import Assessment, ShowAnswers
from repo_domain import assessments, qti
from repo_domain.common import Actor
from repo_domain.errors import Forbidden, InvalidInput
from repo_domain.questions import QuestionSpec

#: The pass mark of an imported draft when the package carries none (QTI has no place for one;
#: the platform's own exports carry it in the manifest); the author changes it as usual.
IMPORTED_PASS_PERCENT = 60.0


@dataclass(slots=True)
class Imported:
    assessment: Assessment
    report: qti.Import


def import_qti(session: Session, *, actor: Actor, filename: str, data: bytes) -> Imported:
    """A new draft holding the importable items of `data`; the report names every item."""
    if not actor.can_author:
        raise Forbidden("only authors and admins may import assessments")
    report = qti.read_upload(filename, data)
    if not report.specs:
        reasons = "; ".join(item.message or item.identifier for item in report.items)
        raise InvalidInput(
            f"nothing to import: {reasons}"[:2000], code="nothing_to_import", field="file"
        )
    settings = report.settings or qti.AssessmentSettings()
    assessment = assessments.create_assessment(
        session,
        actor=actor,
        title=report.title,
        description=report.description,
        time_limit_seconds=report.time_limit_seconds,
        pass_percent=(
            settings.pass_percent if settings.pass_percent is not None else IMPORTED_PASS_PERCENT
        ),
        questions=report.specs,
        max_attempts=settings.max_attempts,
        show_answers=settings.show_answers or ShowAnswers.AFTER_LAST_ATTEMPT,
        closes_at=settings.closes_at,
        adaptive=settings.adaptive,
        adaptive_target_se=settings.adaptive_target_se,
        adaptive_min_length=settings.adaptive_min_length,
        adaptive_max_length=settings.adaptive_max_length,
        adaptive_max_exposure=settings.adaptive_max_exposure,
    )
    return Imported(assessment=assessment, report=report)


@dataclass(frozen=True, slots=True)
class Export:
    filename: str
    content: bytes


def export_qti(session: Session, *, actor: Actor, assessment_id: int) -> Export:
    """The assessment as a QTI 3.0 package: its owning author or an admin, like editing."""
    assessment = assessments.get_managed(session, actor=actor, assessment_id=assessment_id)
    view = assessments.load_view(session, assessment=assessment)
    specs = [QuestionSpec.from_model(q, view.options[q.id]) for q in view.questions]
    content = qti.write_package(
        title=assessment.title,
        description=assessment.description or "",
        questions=specs,
        time_limit_seconds=assessment.time_limit_seconds,
        settings=qti.AssessmentSettings(
            pass_percent=assessment.pass_percent,
            max_attempts=assessment.max_attempts,
            show_answers=assessment.show_answers,
            closes_at=assessment.closes_at,
            adaptive=assessment.adaptive,
            adaptive_target_se=assessment.adaptive_target_se,
            adaptive_min_length=assessment.adaptive_min_length,
            adaptive_max_length=assessment.adaptive_max_length,
            adaptive_max_exposure=assessment.adaptive_max_exposure,
        ),
    )
    slug = re.sub(r"[^a-z0-9]+", "-", assessment.title.lower()).strip("-")[:60] or "assessment"
    return Export(filename=f"{slug}-{assessment.id}-qti.zip", content=content)


__all__ = ["IMPORTED_PASS_PERCENT", "Export", "Imported", "export_qti", "import_qti"]
