"""Register, log in, log out, current user.

Login and registration never hold a database connection while Argon2 runs: they take no
per-request unit of work (`SessionDep`), read in one short unit, hash in `run_argon2` (its own
small thread budget, so a login flood cannot take the threads every other route needs), and
write in a second unit. Both are throttled per client address and per account.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, status

from repo_api.deps import ActorDep, EngineDep, SessionDep, SettingsDep, client_address
from repo_api.schemas.accounts import (
    LoginRequest,
    RegistrationAccepted,
    TokenPublic,
    UserCreate,
    UserPublic,
)
from repo_api.schemas.common import ErrorBody
from repo_api.security import run_argon2, run_auth_io, throttle_of
from repo_db.security import hash_password
from repo_domain import accounts
from repo_domain.errors import Conflict, Unauthorized, InvalidInput

router = APIRouter(tags=["accounts"])

_401: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, invalid or expired token"}
}
_throttled: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "too many attempts (see Retry-After)"},
    503: {"model": ErrorBody, "description": "rate limiter or database unavailable"},
}
REGISTRATION_MESSAGE = (
    "If this address can be registered, the account now exists: log in with your password."
)


@router.post(
    "/auth/register",
    response_model=RegistrationAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={422: {"model": ErrorBody}, **_throttled},
)
async def register(
    body: UserCreate, request: Request, engine: EngineDep, settings: SettingsDep
) -> RegistrationAccepted:
    """Self-service sign-up (always a learner). The answer is the same whether or not the email
    already has an account, so registration cannot be used to find out who is a user."""
    throttle = throttle_of(request)
    await run_auth_io(
        request, throttle.check_register, address=client_address(request), account=body.email
    )
    accounts.check_password_policy(body.password, email=body.email)
    password_hash = await run_argon2(request, hash_password, body.password)
    # A taken address gets the same answer, after the same Argon2 work: nothing to tell apart.
    with contextlib.suppress(Conflict):
        await run_auth_io(
            request,
            accounts.create_account,
            engine,
            email=body.email,
            password_hash=password_hash,
            display_name=body.display_name,
        )
    return RegistrationAccepted(message=REGISTRATION_MESSAGE)


@router.post(
    "/auth/login",
    response_model=TokenPublic,
    responses={401: {"model": ErrorBody, "description": "wrong email or password"}, **_throttled},
)
async def login(
    body: LoginRequest, request: Request, engine: EngineDep, settings: SettingsDep
) -> TokenPublic:
    throttle = throttle_of(request)
    try:
        account = accounts.normalise_email(body.email)
    except InvalidInput:
        account = body.email.strip().casefold()
    await run_auth_io(
        request, throttle.check_login, address=client_address(request), account=account
    )
    credentials = await run_auth_io(request, accounts.find_credentials, engine, email=body.email)
    if not await run_argon2(request, accounts.check_credentials, credentials, body.password):
        await run_auth_io(request, throttle.login_failed, account=account)
        raise Unauthorized("wrong email or password", code="invalid_credentials")
    new_hash = await run_argon2(request, accounts.upgraded_hash, credentials, body.password)
    token, row, user = await run_auth_io(
        request,
        accounts.issue_token,
        engine,
        credentials=credentials,
        ttl=timedelta(seconds=settings.token_ttl_seconds),
        new_hash=new_hash,
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
