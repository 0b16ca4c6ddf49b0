"""Accounts: registration, password login, bearer tokens, admin user management."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from repo_domain.common import Actor, KeysetPage, keyset_page, utcnow
from repo_domain.errors import Conflict, Forbidden, NotFound, Unauthorized
from repo_domain.search import user_page_statement
from repo_domain.tokens import hash_token, new_token
from repo_db import DuplicateError, savepoint
from repo_db.models import AuthToken, User
from repo_db.security import hash_password, verify_password

# Verifying against a real hash for unknown emails keeps login timing from revealing which exist.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    return _DUMMY_HASH


def register_user(
    session: Session, *, email: str, password: str, display_name: str, role: str = "learner"
) -> User:
    """Create an account; self-registration always yields a learner (admins grant roles)."""
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this email already exists", code="email_taken")
    user = User(
        email=email, password_hash=hash_password(password), display_name=display_name, role=role
    )
    try:
        with savepoint(session):
            session.add(user)
    except DuplicateError as exc:  # lost a race with a concurrent registration
        raise Conflict("an account with this email already exists", code="email_taken") from exc
    return user


def login(
    session: Session, *, email: str, password: str, ttl: timedelta
) -> tuple[str, AuthToken, User]:
    """Check the password and issue a fresh opaque token; only its SHA-256 is stored."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        verify_password(_dummy_hash(), password)
        raise Unauthorized("wrong email or password", code="invalid_credentials")
    if not verify_password(user.password_hash, password) or not user.is_active:
        raise Unauthorized("wrong email or password", code="invalid_credentials")
    token = new_token()
    now = utcnow()
    row = AuthToken(
        user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + ttl
    )
    session.add(row)
    session.flush()
    return token, row, user


def actor_for_token(session: Session, *, token: str) -> Actor:
    """Resolve a bearer token in one indexed query: unexpired, unrevoked, active user."""
    token_hash = hash_token(token)
    row = session.execute(
        select(User.id, User.role)
        .join(AuthToken, AuthToken.user_id == User.id)
        .where(
            AuthToken.token_hash == token_hash,
            AuthToken.revoked_at.is_(None),
            AuthToken.expires_at > utcnow(),
            User.is_active.is_(True),
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized("invalid or expired token", code="invalid_token")
    return Actor(id=row.id, role=row.role, token_hash=token_hash)


def logout(session: Session, *, actor: Actor) -> None:
    """Revoke the token used for this request (other sessions of the user stay logged in)."""
    session.execute(
        update(AuthToken)
        .where(AuthToken.token_hash == actor.token_hash, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def get_user(session: Session, *, actor: Actor, user_id: int) -> User:
    if user_id != actor.id and not actor.is_admin:
        raise Forbidden("you may only see your own account")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


def list_users(
    session: Session, *, actor: Actor, query: str | None, after: int | None, limit: int
) -> KeysetPage[User]:
    """Admin user list: keyset on the primary key, so page 1000 costs what page 1 costs."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    # An index-served prefix search, same SQL on both dialects (repo_domain/search.py).
    stmt = user_page_statement(query=query, after=after, limit=limit)
    return keyset_page(session.scalars(stmt).all(), limit=limit)


def update_user(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    role: str | None = None,
    is_active: bool | None = None,
    display_name: str | None = None,
) -> User:
    """Admin changes to an account; deactivating also revokes its tokens immediately."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    if user.id == actor.id and (role not in (None, "admin") or is_active is False):
        raise Conflict("admins cannot demote or deactivate themselves", code="self_lockout")
    if role is not None:
        user.role = role
    if display_name is not None:
        user.display_name = display_name
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            session.execute(
                update(AuthToken)
                .where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
    session.flush()
    return user


def has_users(session: Session) -> bool:
    """Cheap emptiness check (LIMIT 1, not COUNT) used to decide on demo seeding."""
    return session.scalar(select(User.id).limit(1)) is not None
