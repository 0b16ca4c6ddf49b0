"""Per-request dependencies: the repo_db unit of work and the logged-in user (session cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from repo_db import unit_of_work
from repo_db.models import Role
from repo_domain import accounts
from repo_domain.common import Actor
from repo_domain.consistency import request_unit
from repo_domain.errors import Forbidden, Unauthorized
from repo_domain.signin import AccountService
from repo_domain.throttle import Throttle
from repo_web.config import WebSettings

SESSION_COOKIE = "session"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid session: pages redirect to /login?next=<path>."""


@dataclass(frozen=True, slots=True)
class WebUser:
    actor: Actor
    email: str
    display_name: str

    @property
    def role(self) -> Role:
        return self.actor.role


def get_db(request: Request) -> Iterator[Session]:
    """One unit of work per request; GET pages run read-only and never take the write lock."""
    engine: Engine | None = request.app.state.engine
    # Keyed by the session cookie: its pages see its own writes (repo_domain.consistency).
    with request_unit(
        credential=request.cookies.get(SESSION_COOKIE),
        read_only=request.method in READ_ONLY_METHODS,
        bind=engine,
    ) as session:
        yield session


# scope="function": commit BEFORE the response (a redirect after a POST) is sent.
DbDep = Annotated[Session, Depends(get_db, scope="function")]


async def get_account_service(request: Request) -> AccountService:
    """Log-in and sign-up (repo_domain.signin) over units of work of the app's engine and its
    throttle. The routes using it take no `DbDep`: the service opens two short units itself and
    runs Argon2 between them in the thread pool, with no connection checked out."""
    settings: WebSettings = request.app.state.settings
    throttle: Throttle = request.app.state.throttle
    return AccountService(
        units=partial(unit_of_work, bind=request.app.state.engine),
        throttle=throttle,
        token_ttl=timedelta(seconds=settings.session_ttl_seconds),
        run_io=run_in_threadpool,
        run_argon2=run_in_threadpool,
    )


AccountsDep = Annotated[AccountService, Depends(get_account_service)]


def optional_user(request: Request, session: DbDep) -> WebUser | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 256 or not token.isascii():
        return None
    try:
        actor = accounts.actor_for_token(session, token=token)
    except Unauthorized:
        return None
    user = accounts.get_user(session, actor=actor, user_id=actor.id)
    web_user = WebUser(actor=actor, email=user.email, display_name=user.display_name)
    request.state.user = web_user
    return web_user


MaybeUserDep = Annotated[WebUser | None, Depends(optional_user)]


def require_user(user: MaybeUserDep) -> WebUser:
    if user is None:
        raise LoginRequired()
    return user


UserDep = Annotated[WebUser, Depends(require_user)]


def require_author(user: UserDep) -> WebUser:
    if not user.actor.can_author:
        raise Forbidden("only authors and admins may manage assessments")
    return user


def require_admin(user: UserDep) -> WebUser:
    if not user.actor.is_admin:
        raise Forbidden("admins only")
    return user


AuthorDep = Annotated[WebUser, Depends(require_author)]
AdminDep = Annotated[WebUser, Depends(require_admin)]
