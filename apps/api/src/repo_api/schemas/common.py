"""Shared schema pieces: UTC datetimes, keyset pages, error bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from repo_domain.validation import MAX_ID


def _as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything is stored in UTC, so say so on the wire."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]

DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _storable(value: str) -> str:
    """PostgreSQL rejects NUL bytes and UTF-8 cannot encode lone surrogates: refuse both as 422."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


SafeStr = Annotated[str, AfterValidator(_storable)]

T = TypeVar("T")


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One keyset page: pass `next_after` back as `?after=` for the next (null = last page)."""

    items: list[T]
    next_after: int | None


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str | None = None
    field: str | None = Field(default=None, description="the input at fault (invalid input)")


class ErrorBody(BaseModel):
    error: ErrorDetail
