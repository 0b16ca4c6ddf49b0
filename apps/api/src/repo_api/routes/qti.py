"""QTI import (an item file or a content package, into a new draft) and export (a QTI 3.0 zip)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile, status
from fastapi.responses import Response

from repo_api.deps import ActorDep, SessionDep
from repo_api.routes.authoring import MANAGED_ERRORS, AssessmentId, authoring_view
from repo_api.schemas.common import ErrorBody
from repo_api.schemas.qti import QtiImport, QtiItemReport
from repo_domain import interchange, qti

router = APIRouter(prefix="/assessments", tags=["assessments"])

_import_errors: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "not an author or an admin"},
    413: {"model": ErrorBody, "description": "request body over the API's body limit"},
    422: {
        "model": ErrorBody,
        "description": "file refused (not XML, not QTI, XML entities, zip bomb, unsafe path, "
        "too large) or nothing in it to import; `code` says which; nothing is stored",
    },
}


@router.post(
    "/import",
    response_model=QtiImport,
    status_code=status.HTTP_201_CREATED,
    responses=_import_errors,
)
def import_qti(
    file: Annotated[UploadFile, File(description="a QTI 2.1/3.0 item (.xml) or package (.zip)")],
    actor: ActorDep,
    session: SessionDep,
) -> QtiImport:
    """A new draft from a QTI file, and what happened to each item in it."""
    # One byte over the limit is enough for the domain to refuse the file as too large.
    data = file.file.read(qti.UPLOAD_MAX_BYTES + 1)
    result = interchange.import_qti(
        session, actor=actor, filename=file.filename or "upload", data=data
    )
    return QtiImport(
        assessment=authoring_view(session, result.assessment),
        items=[
            QtiItemReport(
                source=item.source,
                identifier=item.identifier,
                title=item.title,
                imported=item.imported,
                kind=item.kind,
                message=item.message,
                notes=item.notes,
            )
            for item in result.report.items
        ],
    )


@router.get(
    "/{assessment_id}/export",
    response_class=Response,
    responses={
        **MANAGED_ERRORS,
        200: {"content": {"application/zip": {}}, "description": "a QTI 3.0 content package"},
    },
)
def export_qti(assessment_id: AssessmentId, actor: ActorDep, session: SessionDep) -> Response:
    """The assessment as a QTI 3.0 content package (owner or admin, as for editing)."""
    exported = interchange.export_qti(session, actor=actor, assessment_id=assessment_id)
    return Response(
        content=exported.content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )
