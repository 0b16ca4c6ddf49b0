"""Admin: user list with search and keyset pagination, one user, account changes, the audit
log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from repo_api.deps import AdminDep, PageDep, SessionDep
from repo_api.schemas.accounts import AuditEventPublic, UserPublic, UserUpdate
from repo_api.schemas.common import ErrorBody, Page
from repo_domain import accounts, audit
from repo_domain.validation import MAX_ID

router = APIRouter(prefix="/admin", tags=["admin"])

_errors: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "not an admin"},
}


@router.get(
    "/users", response_model=Page[UserPublic], responses={**_errors, 422: {"model": ErrorBody}}
)
def list_users(
    actor: AdminDep,
    session: SessionDep,
    page: PageDep,
    q: Annotated[str | None, Query(description="email or display name prefix")] = None,
) -> Page[UserPublic]:
    result = accounts.list_users(session, actor=actor, query=q, after=page.after, limit=page.limit)
    return Page[UserPublic](
        items=[UserPublic.model_validate(u) for u in result.items], next_after=result.next_after
    )


@router.get(
    "/users/{user_id}", response_model=UserPublic, responses={**_errors, 404: {"model": ErrorBody}}
)
def get_user(
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)], actor: AdminDep, session: SessionDep
) -> UserPublic:
    return UserPublic.model_validate(accounts.get_user(session, actor=actor, user_id=user_id))


@router.get(
    "/audit-events",
    response_model=Page[AuditEventPublic],
    responses={**_errors, 422: {"model": ErrorBody}},
)
def list_audit_events(
    actor: AdminDep,
    session: SessionDep,
    page: PageDep,
    subject: Annotated[
        audit.Subject | None, Query(description="only events about a user, assessment or question")
    ] = None,
    subject_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[AuditEventPublic]:
    """Newest first: `next_after` is the id to pass as `?after=` for older events."""
    result = audit.list_events(
        session,
        actor=actor,
        subject=subject,
        subject_id=subject_id,
        before=page.after,
        limit=page.limit,
    )
    return Page[AuditEventPublic](
        items=[AuditEventPublic.model_validate(e) for e in result.items],
        next_after=result.next_after,
    )


@router.patch(
    "/users/{user_id}",
    response_model=UserPublic,
    responses={
        **_errors,
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)
def update_user(
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: UserUpdate,
    actor: AdminDep,
    session: SessionDep,
) -> UserPublic:
    user = accounts.update_user(
        session,
        actor=actor,
        user_id=user_id,
        role=body.role,
        is_active=body.is_active,
        display_name=body.display_name,
    )
    return UserPublic.model_validate(user)
