"""Accounts: the rules of an account (email spelling, password policy, display name), its
credentials and bearer tokens, and admin user management.

Session convention (the package's): every function here takes the caller's session and opens
no unit of work of its own. Logging in and signing up need two short units with Argon2 between
them, run with no connection checked out; `repo_domain.signin.AccountService` strings those steps
together with a unit-of-work factory the adapter hands it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from repo_db import DuplicateError, remember_writes, savepoint
from repo_db.models import AuthToken, Role, User
from repo_db.security import hash_password, needs_rehash, verify_password
from repo_domain import audit, validation
from repo_domain.common import Actor, KeysetPage, keyset_page, utcnow
from repo_domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
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
# A password is hashed, never stored or shown, but UTF-8 must encode it (no lone surrogates) and
# nobody types NUL or other control characters (tab excepted): they come from bugs and attacks.
_PASSWORD_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


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
            field="email",
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
        raise InvalidInput("not a valid email address", code="invalid_email", field="email")
    return value


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list (repo_domain/data/common_passwords.txt), lower-cased."""
    text = resources.files("repo_domain").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def _check_password_characters(password: str) -> None:
    if _PASSWORD_FORBIDDEN.search(password):
        raise InvalidInput(
            "a password must not contain control characters",
            code="invalid_text",
            field="password",
        )


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Length 8-256, typeable characters, not blank, not repetitive, not a common password, not
    the email itself."""
    _check_password_characters(password)
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            f"a password needs at least {PASSWORD_MIN_LENGTH} characters",
            code="weak_password",
            field="password",
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            f"a password has at most {PASSWORD_MAX_LENGTH} characters",
            code="weak_password",
            field="password",
        )
    if not password.strip():
        raise InvalidInput(
            "a password cannot be only spaces", code="weak_password", field="password"
        )
    if len(set(password)) < 4:
        raise InvalidInput(
            "a password needs at least 4 different characters",
            code="weak_password",
            field="password",
        )
    folded = unicodedata.normalize("NFKC", password).casefold()
    if folded in common_passwords() or folded.strip() in common_passwords():
        raise InvalidInput(
            "this password is too common; choose another", code="weak_password", field="password"
        )
    if email and folded in {email, email.partition("@")[0]}:
        raise InvalidInput(
            "a password cannot be your email address", code="weak_password", field="password"
        )


def check_display_name(display_name: str | None) -> str:
    """A display name: required, one line, at most `DISPLAY_NAME_MAX` characters (trimmed)."""
    return validation.text(
        display_name, field="display_name", max_length=validation.DISPLAY_NAME_MAX, required=True
    )


@dataclass(frozen=True, slots=True)
class NewAccount:
    """Sign-up input that passed every rule: normalised email, trimmed display name."""

    email: str
    password: str
    display_name: str


def new_account_problems(*, email: str, password: str, display_name: str) -> list[InvalidInput]:
    """Every rule a sign-up breaks, one error per field (a form shows them all at once)."""
    problems: list[InvalidInput] = []
    try:
        check_display_name(display_name)
    except InvalidInput as exc:
        problems.append(exc)
    normalised: str | None = None
    try:
        normalised = normalise_email(email)
    except InvalidInput as exc:
        problems.append(exc)
    try:
        check_password_policy(password, email=normalised)
    except InvalidInput as exc:
        problems.append(exc)
    return problems


def check_new_account(*, email: str, password: str, display_name: str) -> NewAccount:
    """The validated sign-up; raises the first `InvalidInput` (its `field` names the input)."""
    problems = new_account_problems(email=email, password=password, display_name=display_name)
    if problems:
        raise problems[0]
    return NewAccount(
        email=normalise_email(email),
        password=password,
        display_name=check_display_name(display_name),
    )


@dataclass(frozen=True, slots=True)
class LogInInput:
    """A log-in attempt that can be checked: `email` is None when it cannot be an address (the
    attempt then fails like a wrong password, after the same Argon2 work); `throttle_key` is
    what the per-account throttle counts."""

    email: str | None
    password: str
    throttle_key: str


def check_log_in(*, email: str, password: str) -> LogInInput:
    """Refuse what can never be a credential (empty, too long, control characters) as invalid
    input; anything else is an attempt, right or wrong."""
    raw_email = validation.text(email, field="email", max_length=EMAIL_MAX_LENGTH, required=True)
    _check_password_characters(password)
    if not password:
        raise InvalidInput("password is required", code="required", field="password")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            f"a password has at most {PASSWORD_MAX_LENGTH} characters",
            code="too_long",
            field="password",
        )
    try:
        normalised: str | None = normalise_email(raw_email)
    except InvalidInput:
        normalised = None
    return LogInInput(
        email=normalised, password=password, throttle_key=normalised or raw_email.casefold()
    )


def create_account(
    session: Session,
    *,
    email: str,
    password_hash: str,
    display_name: str,
    role: Role = Role.LEARNER,
) -> User:
    """Insert a user whose password is already hashed; a taken email raises `Conflict`.

    `email` and `display_name` must have passed `check_new_account` (the service does it)."""
    user = User(email=email, password_hash=password_hash, display_name=display_name, role=role)
    try:
        with savepoint(session):
            session.add(user)
    except DuplicateError as exc:
        raise Conflict("an account with this email already exists", code="email_taken") from exc
    return user


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a login needs from the database (`password_hash` None: no such account)."""

    user_id: int | None
    password_hash: str | None
    is_active: bool


UNKNOWN_ACCOUNT = Credentials(user_id=None, password_hash=None, is_active=False)


def find_credentials(session: Session, *, email: str) -> Credentials:
    """The stored hash of a normalised `email` (`UNKNOWN_ACCOUNT` when there is none)."""
    row = session.execute(
        select(User.id, User.password_hash, User.is_active).where(User.email == email)
    ).one_or_none()
    if row is None:
        return UNKNOWN_ACCOUNT
    return Credentials(user_id=row.id, password_hash=row.password_hash, is_active=row.is_active)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of an Argon2 check: right password of an active account, and whether the
    stored hash should be replaced by `new_hash` (it used other Argon2 parameters than today's)."""

    ok: bool
    new_hash: str | None = None


def verify_credentials(credentials: Credentials, password: str) -> Verdict:
    """Argon2 verification (and rehash): pure CPU, call it with no unit of work open.

    An unknown account is verified against a real dummy hash, so its timing reveals nothing."""
    if credentials.password_hash is None:
        verify_password(_dummy_hash(), password)
        return Verdict(ok=False)
    ok = verify_password(credentials.password_hash, password)
    if not (ok and credentials.user_id is not None and credentials.is_active):
        return Verdict(ok=False)
    rehashed = hash_password(password) if needs_rehash(credentials.password_hash) else None
    return Verdict(ok=True, new_hash=rehashed)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def issue_token(
    session: Session, *, credentials: Credentials, ttl: timedelta, new_hash: str | None = None
) -> IssuedToken:
    """Store a fresh opaque token (only its SHA-256) and any upgraded hash."""
    if credentials.user_id is None:
        raise Unauthorized("wrong email or password", code="invalid_credentials")
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
    # The new session's first reads must find this token even on a lagging read replica.
    remember_writes(session, client=row.token_hash)
    return IssuedToken(token=token, expires_at=row.expires_at, user=user)


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
    """Admin user list: keyset on the primary key, so page 1000 costs what page 1 costs.

    `query` (input `q`) is an email or display-name prefix: one line, at most
    `SEARCH_QUERY_MAX` characters; empty lists everyone."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    prefix = validation.optional_text(query, field="q", max_length=validation.SEARCH_QUERY_MAX)
    if after is not None:
        after = validation.integer(after, field="after", minimum=0, maximum=validation.MAX_ID)
    # An index-served prefix search, same SQL on both dialects (repo_domain/search.py).
    stmt = user_page_statement(query=prefix, after=after, limit=limit)
    return keyset_page(session.scalars(stmt).all(), limit=limit)


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(Role)
        raise InvalidInput(f"role is one of {roles}", code="invalid_role", field="role") from None


@dataclass(frozen=True, slots=True)
class UserChange:
    """An admin's change to one account, checked but not applied: what the confirmation page
    shows, and what ``update_user`` then applies. ``before``/``after`` hold the changed fields."""

    user: User
    before: dict[str, Any]
    after: dict[str, Any]

    @property
    def changes_anything(self) -> bool:
        return bool(self.after)


def _account_facts(user: User) -> dict[str, Any]:
    return {"role": user.role, "is_active": user.is_active, "display_name": user.display_name}


def plan_user_update(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    role: Role | str | None = None,
    is_active: bool | None = None,
    display_name: str | None = None,
) -> UserChange:
    """Check an admin change to an account without making it (unknown role, self-lockout,
    missing user: the same refusals as ``update_user``)."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    new_role = None if role is None else _role(role)
    new_name = None if display_name is None else check_display_name(display_name)
    user = session.get(User, validation.identifier(user_id, field="user_id"))
    if user is None:
        raise NotFound("user not found")
    if user.id == actor.id and (new_role not in (None, Role.ADMIN) or is_active is False):
        raise Conflict("admins cannot demote or deactivate themselves", code="self_lockout")
    current = _account_facts(user)
    wanted = dict(current)
    if new_role is not None:
        wanted["role"] = new_role
    if new_name is not None:
        wanted["display_name"] = new_name
    if is_active is not None:
        wanted["is_active"] = is_active
    before, after = audit.changes(current, wanted)
    return UserChange(user=user, before=before, after=after)


def update_user(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    role: Role | str | None = None,
    is_active: bool | None = None,
    display_name: str | None = None,
) -> User:
    """Admin changes to an account; deactivating also revokes its tokens immediately. The change
    goes to the audit log (who, when, before and after).

    `role` is a `Role` or its value (a form sends text); anything else is invalid input."""
    change = plan_user_update(
        session,
        actor=actor,
        user_id=user_id,
        role=role,
        is_active=is_active,
        display_name=display_name,
    )
    user = change.user
    before = _account_facts(user)
    if role is not None:
        user.role = _role(role)
    if display_name is not None:
        user.display_name = check_display_name(display_name)
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            session.execute(
                update(AuthToken)
                .where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=audit.Action.USER_UPDATED,
        subject=audit.Subject.USER,
        subject_id=user.id,
        before=before,
        after=_account_facts(user),
    )
    return user


def has_users(session: Session) -> bool:
    """Cheap emptiness check (LIMIT 1, not COUNT) used to decide on demo seeding."""
    return session.scalar(select(User.id).limit(1)) is not None
