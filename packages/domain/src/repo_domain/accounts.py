"""Accounts: registration, password login, bearer tokens, admin user management."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from importlib import resources

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from repo_db import DuplicateError, savepoint, unit_of_work
from repo_db.models import AuthToken, User
from repo_db.security import hash_password, needs_rehash, verify_password
from repo_domain.common import Actor, KeysetPage, keyset_page, utcnow
from repo_domain.errors import Conflict, Forbidden, NotFound, Unauthorized, InvalidInput
from repo_domain.search import user_page_statement
from repo_domain.tokens import hash_token, new_token

# Verifying against a real hash for unknown emails keeps login timing from revealing which exist.
_DUMMY_HASH: str | None = None

EMAIL_MAX_LENGTH = 254
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256
# RFC 5322 dot-atom characters of the local part (lower case: addresses are case-folded).
_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    return _DUMMY_HASH


def normalise_email(raw: str) -> str:
    """The one spelling of an address: NFKC, case-folded, trimmed; then ASCII only.

    NFKC maps full-width and other compatibility forms onto ASCII (full-width "ada" at U+FF41..
    becomes `ada`, the same account). Whatever is still non-ASCII afterwards (Cyrillic U+0430,
    Greek omicron U+03BF, ...) is refused rather than judged: look-alikes of an existing address
    cannot be registered, and internationalised domains are accepted in their `xn--` form.
    """
    value = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).casefold()).strip()
    if not value.isascii():
        raise InvalidInput(
            "email addresses must be plain ASCII (internationalised domains in their xn-- form)",
            code="invalid_email",
        )
    local, sep, domain = value.rpartition("@")
    labels = domain.split(".")
    if (
        not sep
        or len(value) > EMAIL_MAX_LENGTH
        or not 1 <= len(local) <= 64
        or not _LOCAL_PART.match(local)
        or len(labels) < 2
        or not all(_DOMAIN_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidInput("not a valid email address", code="invalid_email")
    return value


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list (repo_domain/data/common_passwords.txt), lower-cased."""
    text = resources.files("repo_domain").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Length 8-256, not blank, not repetitive, not a common password, not the email itself."""
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            f"passwords have {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters",
            code="weak_password",
        )
    if not password.strip():
        raise InvalidInput("a password cannot be only spaces", code="weak_password")
    if len(set(password)) < 4:
        raise InvalidInput(
            "a password needs at least 4 different characters", code="weak_password"
        )
    folded = unicodedata.normalize("NFKC", password).casefold()
    if folded in common_passwords() or folded.strip() in common_passwords():
        raise InvalidInput("this password is too common; choose another", code="weak_password")
    if email and folded in {email, email.partition("@")[0]}:
        raise InvalidInput("a password cannot be your email address", code="weak_password")


def create_account(
    bind: Engine | None,
    *,
    email: str,
    password_hash: str,
    display_name: str,
    role: str = "learner",
) -> User:
    """Insert a user whose password is already hashed (one short write unit)."""
    with unit_of_work(bind=bind) as session:
        user = User(email=email, password_hash=password_hash, display_name=display_name, role=role)
        try:
            with savepoint(session):
                session.add(user)
        except DuplicateError as exc:
            raise Conflict("an account with this email already exists", code="email_taken") from exc
    return user


def register_user(
    bind: Engine | None, *, email: str, password: str, display_name: str, role: str = "learner"
) -> User:
    """Create an account; self-registration always yields a learner (admins grant roles).

    Argon2 runs before the write unit opens, so no database connection waits on it. Raises
    `Conflict` for a taken email: an adapter that must not reveal accounts hides it (the API does).
    """
    email = normalise_email(email)
    check_password_policy(password, email=email)
    password_hash = hash_password(password)
    return create_account(
        bind, email=email, password_hash=password_hash, display_name=display_name, role=role
    )


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a login needs from the database, read in its own short unit."""

    user_id: int | None
    password_hash: str
    is_active: bool


def find_credentials(bind: Engine | None, *, email: str) -> Credentials:
    """Read unit: the stored hash of `email`, or a dummy hash so timing reveals nothing."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        return Credentials(user_id=None, password_hash=_dummy_hash(), is_active=False)
    with unit_of_work(read_only=True, bind=bind) as session:
        row = session.execute(
            select(User.id, User.password_hash, User.is_active).where(User.email == email)
        ).one_or_none()
    if row is None:
        return Credentials(user_id=None, password_hash=_dummy_hash(), is_active=False)
    return Credentials(user_id=row.id, password_hash=row.password_hash, is_active=row.is_active)


def check_credentials(credentials: Credentials, password: str) -> bool:
    """Argon2 verification; pure CPU, call it with no unit of work open."""
    ok = verify_password(credentials.password_hash, password)
    return ok and credentials.user_id is not None and credentials.is_active


def upgraded_hash(credentials: Credentials, password: str) -> str | None:
    """A new hash when the stored one used other Argon2 parameters than today's (else None)."""
    return hash_password(password) if needs_rehash(credentials.password_hash) else None


def issue_token(
    bind: Engine | None, *, credentials: Credentials, ttl: timedelta, new_hash: str | None = None
) -> tuple[str, AuthToken, User]:
    """Write unit: store a fresh opaque token (only its SHA-256) and any upgraded hash."""
    if credentials.user_id is None:
        raise Unauthorized("wrong email or password", code="invalid_credentials")
    with unit_of_work(bind=bind) as session:
        user = session.get(User, credentials.user_id)
        if user is None or not user.is_active:
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        if new_hash is not None and user.password_hash == credentials.password_hash:
            user.password_hash = new_hash  # unless the password changed meanwhile
        token = new_token()
        now = utcnow()
        row = AuthToken(
            user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + ttl
        )
        session.add(row)
        session.flush()
    return token, row, user


def login(
    bind: Engine | None, *, email: str, password: str, ttl: timedelta
) -> tuple[str, AuthToken, User]:
    """Check the password and issue a fresh token: read unit, Argon2 outside, write unit.

    No database connection is checked out while Argon2 runs (~0.1-0.4 s, 64 MiB), so a login
    flood cannot exhaust the pool. Adapters that throttle or run Argon2 in their own executor
    call the three steps themselves (see repo_api.routes.accounts).
    """
    credentials = find_credentials(bind, email=email)
    if not check_credentials(credentials, password):
        raise Unauthorized("wrong email or password", code="invalid_credentials")
    return issue_token(
        bind,
        credentials=credentials,
        ttl=ttl,
        new_hash=upgraded_hash(credentials, password),
    )


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
