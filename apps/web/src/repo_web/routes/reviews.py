"""Author review queue: AI grades flagged for review (low confidence) on the author's
assessments (admins: all), each with a form to grade it. Grading refreshes the attempt's result
(repo_domain.grading.review does it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from repo_domain import grading
from repo_domain.errors import Conflict, InvalidInput
from repo_domain.validation import MAX_ID
from repo_web.deps import AuthorDep, DbDep, WebUser
from repo_web.forms import read_form
from repo_web.templating import render

router = APIRouter(prefix="/reviews")

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE_SIZE = 25


def _queue_page(
    request: Request,
    session: Session,
    user: WebUser,
    *,
    after: int | None,
    errors: dict[int, dict[str, str]] | None = None,
    values: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    page = grading.review_queue(
        session, actor=user.actor, assessment_id=None, after=after, limit=PAGE_SIZE
    )
    return render(
        request,
        "reviews.html",
        status_code=status_code,
        page=page,
        errors=errors or {},
        values=values or {},
        graded=request.query_params.get("graded") == "1",
    )


@router.get("")
def queue(
    request: Request,
    session: DbDep,
    user: AuthorDep,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> Response:
    return _queue_page(request, session, user, after=after)


@router.post("/{feedback_id}")
async def grade(request: Request, feedback_id: Id, session: DbDep, user: AuthorDep) -> Response:
    form = await read_form(request)
    score = form.number("score", required=True)  # parsed here; its range is the domain's
    comment = form.data.get("comment")
    raw_comment = comment if isinstance(comment, str) else ""
    errors = dict(form.errors)
    if score is not None and not errors:
        try:
            grading.review(
                session,
                actor=user.actor,
                feedback_id=feedback_id,
                score=score,
                comment=raw_comment,
            )
        except InvalidInput as exc:
            errors[exc.field if exc.field in ("score", "comment") else "score"] = exc.message
        except Conflict as exc:
            if exc.code != "not_in_review":
                raise
            # Someone else graded it first: nothing left to do here.
            return RedirectResponse("/reviews", status_code=303)
        else:
            return RedirectResponse("/reviews?graded=1", status_code=303)
    raw_score = form.data.get("score")
    return _queue_page(
        request,
        session,
        user,
        after=None,
        errors={feedback_id: errors or {"score": "Enter a score."}},
        values={
            feedback_id: {
                "score": raw_score[:64] if isinstance(raw_score, str) else "",
                "comment": raw_comment,
            }
        },
        status_code=422,
    )
