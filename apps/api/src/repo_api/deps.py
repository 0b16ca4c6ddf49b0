"""FastAPI dependencies: settings, the repo_db session per request, the authenticated actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from repo_api.config import ApiSettings
from repo_api.schemas.common import MAX_ID
from repo_db import unit_of_work
from repo_domain import accounts
from repo_domain.common import Actor
from repo_domain.errors import Forbidden, Unauthorized

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="Opaque token from POST /auth/login")


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine | None:
    """The engine the app was built with (tests), or None: repo_db's configured database, so that
    read-only units of work can go to the read replica (repo_db routes them)."""
    engine: Engine | None = request.app.state.engine
    return engine


EngineDep = Annotated[Engine | None, Depends(get_engine)]


def client_address(request: Request) -> str:
    """The client's address as uvicorn saw it (X-Forwarded-For only from trusted proxies, see
    uvicorn's --forwarded-allow-ips): the key of the per-address throttles."""
    return request.client.host if request.client else "unknown"


def get_session(request: Request, engine: EngineDep) -> Iterator[Session]:
    """One repo_db unit of work per request: commits if the handler returns, else rolls back.

    Reads (GET, HEAD, OPTIONS) run read-only, so they never wait for the database's write lock.
    """
    read_only = request.method in READ_ONLY_METHODS
    with unit_of_work(read_only=read_only, bind=engine) as session:
        yield session


# scope="function": commit BEFORE the response is sent. With the default request scope FastAPI
# would commit after sending, so a client could read stale data or miss a failed commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def get_actor(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing bearer token", code="not_authenticated")
    token = credentials.credentials
    if len(token) > 256 or not token.isascii():
        raise Unauthorized("invalid or expired token", code="invalid_token")
    return accounts.actor_for_token(session, token=token)


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_admin(actor: ActorDep) -> Actor:
    if not actor.is_admin:
        raise Forbidden("admins only")
    return actor


AdminDep = Annotated[Actor, Depends(require_admin)]


class PageParams:
    """Keyset page parameters: `after` is the last id of the previous page."""

    def __init__(
        self,
        settings: SettingsDep,
        after: Annotated[
            int | None, Query(ge=0, le=MAX_ID, description="`next_after` of the previous page")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 20,
    ) -> None:
        self.after = after
        self.limit = min(limit, settings.max_page_size)


PageDep = Annotated[PageParams, Depends()]
