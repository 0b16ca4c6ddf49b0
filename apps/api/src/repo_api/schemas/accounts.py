"""Accounts: registration, login tokens, user views."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from repo_api.schemas.common import ORMModel, UtcDatetime
from repo_db.models import Role


class UserCreate(BaseModel):
    """Sign-up input. repo_domain checks it (email spelling, password policy, display name)."""

    email: str = Field(examples=["ada@example.com"])
    display_name: str = Field(examples=["Ada Lovelace"])
    password: str


class UserUpdate(BaseModel):
    """Admin-only changes to another account."""

    role: Role | None = None
    is_active: bool | None = None
    display_name: str | None = None


class UserPublic(ORMModel):
    id: int
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: UtcDatetime


class AuditEventPublic(ORMModel):
    """One admin or author action: who, what, when, the changed fields before and after."""

    id: int
    at: UtcDatetime
    actor_id: int | None
    actor_email: str
    action: str = Field(examples=["user.updated"])
    subject_type: str = Field(examples=["user"])
    subject_id: int
    before: dict[str, Any]
    after: dict[str, Any]


class LoginRequest(BaseModel):
    email: str
    password: str
    device_token: str | None = Field(
        default=None,
        description="The `device_token` of an earlier successful login to this account: the "
        "client is then a trusted device, which guessing from elsewhere cannot lock out.",
    )


class RegistrationAccepted(BaseModel):
    """A taken address (202): no session and no word of "taken", only the hedged message."""

    status: Literal["accepted"] = "accepted"
    message: str


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: UtcDatetime
    user: UserPublic
    device_token: str = Field(
        description="Keep it (long-lived, for this account) and send it as `device_token` in "
        "later login bodies (OWASP device cookies; see the README's Throttling)."
    )


class SignedUp(TokenPublic):
    """A new address (201): the account exists and is signed in, as a login would answer."""

    status: Literal["signed_in"] = "signed_in"
