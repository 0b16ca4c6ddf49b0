"""Accounts: registration, login tokens, user views."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from repo_api.schemas.common import ORMModel, SafeStr, UtcDatetime
from repo_db.models import Role
from repo_domain.accounts import normalise_email
from repo_domain.errors import DomainError


def _normalise_email(value: str) -> str:
    try:
        return normalise_email(value)
    except DomainError as exc:  # pydantic turns ValueError into a 422 naming the field
        raise ValueError(exc.message) from exc


class UserBase(BaseModel):
    email: SafeStr = Field(min_length=3, max_length=320, examples=["ada@example.com"])
    display_name: SafeStr = Field(min_length=1, max_length=100)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return _normalise_email(value)

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class UserCreate(UserBase):
    password: SafeStr = Field(min_length=8, max_length=256)


class UserUpdate(BaseModel):
    """Admin-only changes to another account."""

    role: Role | None = None
    is_active: bool | None = None
    display_name: SafeStr | None = Field(default=None, min_length=1, max_length=100)


class UserPublic(ORMModel):
    id: int
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: UtcDatetime


class LoginRequest(BaseModel):
    email: SafeStr = Field(min_length=1, max_length=320)
    password: SafeStr = Field(min_length=1, max_length=256)


class RegistrationAccepted(BaseModel):
    """The same for a new and an already registered address (no account enumeration)."""

    status: Literal["accepted"] = "accepted"
    message: str


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: UtcDatetime
    user: UserPublic
