"""Helpers shared by the domain modules: the acting user, keyset pages, LIKE escaping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from repo_db.models import Role

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller, detached from any session so it can cross layers safely."""

    id: int
    role: Role
    token_hash: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_author(self) -> bool:
        return self.role in (Role.AUTHOR, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[T]):
    items: list[T]
    next_after: int | None


def keyset_page(rows: Sequence[T], *, limit: int, key: str = "id") -> KeysetPage[T]:
    """Rows were fetched with LIMIT limit+1: the extra row only tells whether a next page exists."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return KeysetPage(items=items, next_after=getattr(items[-1], key) if more and items else None)


def like_pattern(text: str, *, prefix_only: bool = False) -> str:
    """A LIKE pattern matching `text` literally (escape char `\\`), lower-cased."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC); make them comparable to aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


__all__ = ["Actor", "KeysetPage", "as_utc", "keyset_page", "like_pattern", "utcnow"]
