"""QTI pages for authors: upload an item or a package into a new draft (with a report per item),
and download an assessment as a QTI 3.0 package."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from repo_domain import interchange, qti
from repo_domain.errors import InvalidInput
from repo_domain.validation import MAX_ID
from repo_web.deps import AuthorDep, DbDep
from repo_web.routes.manage import KINDS
from repo_web.templating import render, sentence

# Included before the /manage router: its /manage/{assessment_id} would claim /manage/import.
router = APIRouter(prefix="/manage")

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
MAX_MIB = qti.UPLOAD_MAX_BYTES // (1024 * 1024)


def _form(
    request: Request,
    *,
    error: str | None = None,
    filename: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "manage/import.html",
        status_code=status_code,
        error=error,
        filename=filename,
        max_mib=MAX_MIB,
    )


@router.get("/import")
def import_page(request: Request, user: AuthorDep) -> Response:
    return _form(request)


@router.post("/import")
async def import_upload(request: Request, session: DbDep, user: AuthorDep) -> Response:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _form(request, error="Choose a QTI file (.xml) or package (.zip).", status_code=422)
    data = await upload.read(qti.UPLOAD_MAX_BYTES + 1)
    try:
        result = interchange.import_qti(
            session, actor=user.actor, filename=upload.filename, data=data
        )
    except InvalidInput as exc:
        return _form(
            request, error=sentence(exc.message), filename=upload.filename, status_code=422
        )
    return render(
        request,
        "manage/import_report.html",
        status_code=201,
        assessment=result.assessment,
        report=result.report,
        kinds=KINDS,
    )


@router.get("/{assessment_id}/export")
def export(assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    exported = interchange.export_qti(session, actor=user.actor, assessment_id=assessment_id)
    return Response(
        content=exported.content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )
