"""Shared schema pieces: UTC datetimes, keyset pages, error bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything is stored in UTC, so say so on the wire."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]

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
