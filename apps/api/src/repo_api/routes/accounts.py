"""Register, log in, log out, current user.

Login and registration are `repo_domain.signin.AccountService` (the one account flow, shared
with the web UI); this module only translates. They take no per-request unit of work
(`SessionDep`): the service reads and writes in two short units of its own factory and runs
Argon2 between them in `run_argon2` (its own small thread budget, so a login flood cannot take
the threads every other route needs), the throttle and database calls in `run_auth_io`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from repo_api.deps import AccountsDep, ActorDep, SessionDep, client_address
from repo_api.schemas.accounts import (
    LoginRequest,
    RegistrationAccepted,
    SignedUp,
    TokenPublic,
    UserCreate,
    UserPublic,
)
from repo_api.schemas.common import ErrorBody
from repo_domain import accounts
from repo_domain.signin import SIGN_UP_ACCEPTED

router = APIRouter(tags=["accounts"])

_401: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, invalid or expired token"}
}
_throttled: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "too many attempts (see Retry-After)"},
    503: {"model": ErrorBody, "description": "rate limiter or database unavailable"},
}


@router.post(
    "/auth/register",
    response_model=SignedUp | RegistrationAccepted,
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"model": SignedUp, "description": "a new account, signed in"},
        202: {"model": RegistrationAccepted, "description": "the address is taken: no session"},
        422: {"model": ErrorBody},
        **_throttled,
    },
)
async def register(
    body: UserCreate, request: Request, response: Response, service: AccountsDep
) -> SignedUp | RegistrationAccepted:
    """Self-service sign-up (always a learner). A new address: 201, the account signed in (a
    token and a device token, as a login answers). A taken one: 202 and the hedged message, no
    session and no word of "taken" (the trade-off: repo_domain.signin)."""
    signed_in = await service.sign_up(
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        address=client_address(request),
    )
    if signed_in is None:
        response.status_code = status.HTTP_202_ACCEPTED
        return RegistrationAccepted(message=SIGN_UP_ACCEPTED)
    return SignedUp(
        access_token=signed_in.token,
        expires_at=signed_in.expires_at,
        user=UserPublic.model_validate(signed_in.user),
        device_token=signed_in.device_token,
    )


@router.post(
    "/auth/login",
    response_model=TokenPublic,
    responses={
        401: {"model": ErrorBody, "description": "wrong email or password"},
        422: {"model": ErrorBody},
        **_throttled,
    },
)
async def login(body: LoginRequest, request: Request, service: AccountsDep) -> TokenPublic:
    """A bearer token and a device token. Send the device token back in the body of later
    logins (`device_token`): the client is then trusted and keeps logging in while untrusted
    clients of the account are throttled (429)."""
    issued = await service.log_in(
        email=body.email,
        password=body.password,
        address=client_address(request),
        device_token=body.device_token,
    )
    return TokenPublic(
        access_token=issued.token,
        expires_at=issued.expires_at,
        user=UserPublic.model_validate(issued.user),
        device_token=issued.device_token,
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=_401)
def logout(actor: ActorDep, session: SessionDep) -> None:
    """Revokes the token used for this request."""
    accounts.logout(session, actor=actor)


@router.get("/users/me", response_model=UserPublic, responses=_401)
def me(actor: ActorDep, session: SessionDep) -> UserPublic:
    return UserPublic.model_validate(accounts.get_user(session, actor=actor, user_id=actor.id))
