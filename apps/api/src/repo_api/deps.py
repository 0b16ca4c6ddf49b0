"""FastAPI dependencies: settings, the repo_db session per request, the authenticated actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from repo_api.config import ApiSettings
from repo_api.domain import accounts
from repo_api.domain.common import Actor
from repo_api.domain.errors import Forbidden, Unauthorized
from repo_api.schemas.common import MAX_ID
from repo_db import session_factory

_bearer = HTTPBearer(auto_error=False, description="Opaque token from POST /auth/login")


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One unit of work per request: commits if the handler returns, rolls back if it raises.

    repo_db's cached sessionmaker (not session_scope) because the auth step commits mid-request.
    """
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


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
    actor = accounts.actor_for_token(session, token=token)
    if session.get_bind().dialect.name == "sqlite":
        # End the read-only auth transaction so a write that follows starts a fresh one: SQLite
        # cannot upgrade a stale read snapshot to a write lock (it fails instead of waiting).
        # PostgreSQL (READ COMMITTED) has no such problem; skipping saves a round trip there.
        session.commit()
    return actor


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
