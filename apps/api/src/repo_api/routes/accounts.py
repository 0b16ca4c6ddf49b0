"""Register, log in, log out, current user."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, status

from repo_api.deps import ActorDep, SessionDep, SettingsDep
from repo_api.schemas.accounts import LoginRequest, TokenPublic, UserCreate, UserPublic
from repo_api.schemas.common import ErrorBody
from repo_domain import accounts

router = APIRouter(tags=["accounts"])

_401: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, invalid or expired token"}
}


@router.post(
    "/auth/register",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorBody, "description": "email already registered"}},
)
def register(body: UserCreate, session: SessionDep) -> UserPublic:
    """Self-service sign-up; the account is always a learner (admins grant other roles)."""
    user = accounts.register_user(
        session, email=body.email, password=body.password, display_name=body.display_name
    )
    return UserPublic.model_validate(user)


@router.post(
    "/auth/login",
    response_model=TokenPublic,
    responses={401: {"model": ErrorBody, "description": "wrong email or password"}},
)
def login(body: LoginRequest, session: SessionDep, settings: SettingsDep) -> TokenPublic:
    token, row, user = accounts.login(
        session,
        email=body.email,
        password=body.password,
        ttl=timedelta(seconds=settings.token_ttl_seconds),
    )
    return TokenPublic(
        access_token=token, expires_at=row.expires_at, user=UserPublic.model_validate(user)
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=_401)
def logout(actor: ActorDep, session: SessionDep) -> None:
    """Revokes the token used for this request."""
    accounts.logout(session, actor=actor)


@router.get("/users/me", response_model=UserPublic, responses=_401)
def me(actor: ActorDep, session: SessionDep) -> UserPublic:
    return UserPublic.model_validate(accounts.get_user(session, actor=actor, user_id=actor.id))
