"""QTI import answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from repo_api.schemas.assessments import AssessmentAuthoring
from repo_db.models import QuestionKind


class QtiItemReport(BaseModel):
    source: str = Field(description="the file the item came from (its path in a package)")
    identifier: str
    title: str
    imported: bool
    kind: QuestionKind | None = Field(description="the question kind it became, when imported")
    message: str | None = Field(
        description="why it was not imported, e.g. an unsupported interaction"
    )
    notes: list[str] = Field(description="what was left out of an imported item (e.g. images)")


class QtiImport(BaseModel):
    assessment: AssessmentAuthoring
    items: list[QtiItemReport]
