"""Admin: user list with search and keyset pagination, account changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from repo_api.deps import AdminDep, PageDep, SessionDep
from repo_api.schemas.accounts import UserPublic, UserUpdate
from repo_api.schemas.common import ErrorBody, Page
from repo_domain import accounts
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
