"""FastAPI dependencies: settings, the repo_db session per request, the authenticated actor.

Every synchronous dependency costs a hop to the thread pool and back (a GIL hand-over each
way; the largest single item in the workers' profile under load, docs/benchmarks.md). So the
dependencies that do no I/O are ``async def`` (they run on the event loop), and the one that
does, ``get_session``, also resolves the bearer token in the same hop: a request makes three
hops (unit of work + token, endpoint, commit) instead of five to seven.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from repo_api.config import ApiSettings
from repo_api.security import AuthBulkheads
from repo_db import unit_of_work
from repo_domain import accounts
from repo_domain.common import Actor
from repo_domain.consistency import request_unit
from repo_domain.errors import Forbidden, Unauthorized
from repo_domain.signin import AccountService
from repo_domain.throttle import Throttle
from repo_domain.validation import MAX_ID

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="Opaque token from POST /auth/login")


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine | None:
    """The engine the app was built with (tests), or None: repo_db's configured database, so that
    read-only units of work can go to the read replica (repo_db routes them)."""
    engine: Engine | None = request.app.state.engine
    return engine


EngineDep = Annotated[Engine | None, Depends(get_engine)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


async def get_account_service(
    request: Request, engine: EngineDep, settings: SettingsDep
) -> AccountService:
    """Log-in and registration (repo_domain.signin) over units of work of this app's engine, its
    throttle and its bulkheads. No per-request unit (`SessionDep`): the service opens two short
    units itself, so no connection is checked out while Argon2 runs."""
    throttle: Throttle = request.app.state.throttle
    bulkheads = AuthBulkheads(request)
    return AccountService(
        units=partial(unit_of_work, bind=engine),
        throttle=throttle,
        token_ttl=timedelta(seconds=settings.token_ttl_seconds),
        run_io=bulkheads.io,
        run_argon2=bulkheads.argon2,
    )


AccountsDep = Annotated[AccountService, Depends(get_account_service)]


def client_address(request: Request) -> str:
    """The client's address as uvicorn saw it (X-Forwarded-For only from trusted proxies, see
    uvicorn's --forwarded-allow-ips): the key of the per-address throttles."""
    return request.client.host if request.client else "unknown"


def get_session(request: Request, engine: EngineDep) -> Iterator[Session]:
    """One repo_db unit of work per request: commits if the handler returns, else rolls back.

    Reads (GET, HEAD, OPTIONS) run read-only, so they never wait for the database's write lock.
    A bearer token, when the request has one, is resolved here, in the same thread-pool hop as
    opening the unit; ``get_actor`` only reads the outcome (and rejects a bad token).
    """
    read_only = request.method in READ_ONLY_METHODS
    authorization = request.headers.get("Authorization")
    scheme, token = get_authorization_scheme_param(authorization)
    credential = token if scheme.lower() == "bearer" else None
    # Keyed by the bearer token's session: its reads see its own writes (repo_domain.consistency).
    with request_unit(credential=credential, read_only=read_only, bind=engine) as session:
        request.state.auth = _authenticate(session, authorization)
        yield session


def _authenticate(session: Session, authorization: str | None) -> Actor | Unauthorized:
    """The actor of the request's bearer token, or the error to raise if a route needs one."""
    # The header is parsed as fastapi.security.HTTPBearer does (it declares the scheme in
    # OpenAPI, on get_actor), here so that the lookup shares the unit of work's thread hop.
    scheme, token = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not token:
        return Unauthorized("missing bearer token", code="not_authenticated")
    if len(token) > 256 or not token.isascii():
        return Unauthorized("invalid or expired token", code="invalid_token")
    try:
        return accounts.actor_for_token(session, token=token)
    except Unauthorized as exc:
        return exc


# scope="function": commit BEFORE the response is sent. With the default request scope FastAPI
# would commit after sending, so a client could read stale data or miss a failed commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_actor(
    request: Request,
    _session: SessionDep,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The authenticated actor: ``get_session`` (a sub-dependency, so it runs first) resolved
    the token. ``_scheme`` only declares the bearer scheme in the OpenAPI schema of the routes
    that need it."""
    auth: Actor | Unauthorized = request.state.auth
    if isinstance(auth, Unauthorized):
        raise auth
    return auth


ActorDep = Annotated[Actor, Depends(get_actor)]


async def require_admin(actor: ActorDep) -> Actor:
    if not actor.is_admin:
        raise Forbidden("admins only")
    return actor


AdminDep = Annotated[Actor, Depends(require_admin)]


@dataclass(frozen=True, slots=True)
class PageParams:
    """Keyset page parameters: `after` is the last id of the previous page."""

    after: int | None
    limit: int


async def page_params(
    settings: SettingsDep,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="`next_after` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 20,
) -> PageParams:
    return PageParams(after=after, limit=min(limit, settings.max_page_size))


PageDep = Annotated[PageParams, Depends(page_params)]
