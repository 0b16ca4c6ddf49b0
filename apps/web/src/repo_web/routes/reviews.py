"""Author review queue: AI grades flagged for review (low confidence) on the author's
assessments (admins: all), as groups of look-alike answers (repo_domain.review_groups), least
confident and largest first. One form per group grades every answer in it and refreshes the
results; the page then offers to undo that decision."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from repo_domain import review_groups
from repo_domain.errors import Conflict, InvalidInput
from repo_domain.validation import MAX_ID
from repo_web.deps import AuthorDep, DbDep, WebUser
from repo_web.forms import read_form
from repo_web.templating import render, sentence

router = APIRouter(prefix="/reviews")

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE_SIZE = 25


def _queue_page(
    request: Request,
    session: Session,
    user: WebUser,
    *,
    after: str | None,
    errors: dict[int, dict[str, str]] | None = None,
    values: dict[int, dict[str, str]] | None = None,
    problem: str | None = None,
    decided: tuple[int, int] | None = None,
    undone: int | None = None,
    status_code: int = 200,
) -> Response:
    page = review_groups.review_groups(
        session, actor=user.actor, assessment_id=None, after=after, limit=PAGE_SIZE
    )
    return render(
        request,
        "reviews.html",
        status_code=status_code,
        page=page,
        errors=errors or {},
        values=values or {},
        problem=problem,
        decided=decided,
        undone=undone,
    )


@router.get("")
def queue(
    request: Request,
    session: DbDep,
    user: AuthorDep,
    after: Annotated[str | None, Query(max_length=40)] = None,
    decided: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    n: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    undone: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> Response:
    """``decided``/``n`` after a group decision (the page offers its undo), ``undone`` after
    an undo: both only choose which notice the page shows."""
    return _queue_page(
        request,
        session,
        user,
        after=after,
        decided=(decided, n or 1) if decided is not None else None,
        undone=undone,
    )


@router.post("/groups/{group_id}")
async def grade_group(request: Request, group_id: Id, session: DbDep, user: AuthorDep) -> Response:
    form = await read_form(request)
    score = form.number("score", required=True)  # parsed here; its range is the domain's
    comment = form.data.get("comment")
    raw_comment = comment if isinstance(comment, str) else ""
    errors = dict(form.errors)
    if score is not None and not errors:
        try:
            decision = review_groups.review_group(
                session, actor=user.actor, group_id=group_id, score=score, comment=raw_comment
            )
        except InvalidInput as exc:
            errors[exc.field if exc.field in ("score", "comment") else "score"] = sentence(
                exc.message
            )
        except Conflict as exc:
            if exc.code != "not_in_review":
                raise
            # Someone else graded it first: nothing left to do here.
            return RedirectResponse("/reviews", status_code=303)
        else:
            return RedirectResponse(
                f"/reviews?decided={decision.id}&n={decision.graded}", status_code=303
            )
    raw_score = form.data.get("score")
    return _queue_page(
        request,
        session,
        user,
        after=None,
        errors={group_id: errors or {"score": "Enter a score."}},
        values={
            group_id: {
                "score": raw_score[:64] if isinstance(raw_score, str) else "",
                "comment": raw_comment,
            }
        },
        status_code=422,
    )


@router.post("/decisions/{decision_id}/undo")
async def undo(request: Request, decision_id: Id, session: DbDep, user: AuthorDep) -> Response:
    try:  # the form carries only the CSRF token, checked app-wide (repo_web.security)
        done = review_groups.undo_review_group(session, actor=user.actor, decision_id=decision_id)
    except Conflict as exc:
        return _queue_page(
            request, session, user, after=None, problem=sentence(exc.message), status_code=409
        )
    return RedirectResponse(f"/reviews?undone={done.restored}", status_code=303)
