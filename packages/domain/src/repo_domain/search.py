"""Admin user search: a case-insensitive prefix match that an index really serves on both databases.

The match is ``lower(col) LIKE 'prefix%'``. PostgreSQL serves it from the GIN trigram indexes of
migration 0006. SQLite applies its LIKE optimisation to plain columns only, never to
``lower(col)``, so there the same match also carries the equivalent range
``lower(col) >= 'prefix' AND lower(col) < 'prefiy'``, which the btree indexes on ``lower(col)``
(same index names) serve. The choice is made when SQLAlchemy compiles the statement, so callers
write one query for both dialects. docs/benchmarks.md ("Admin user search") shows both plans.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from repo_db.models import User
from repo_domain.common import like_pattern


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (code point order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class PrefixMatch(ColumnElement[bool]):
    """``expr LIKE 'prefix%'`` (escaped), plus an index-friendly range on SQLite."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("pattern_match", InternalTraversal.dp_clauseelement),
        ("bounds", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, expr: ColumnElement[Any], prefix: str) -> None:
        lowered = prefix.lower()
        self.pattern_match = expr.like(like_pattern(lowered, prefix_only=True), escape="\\")
        self.bounds = and_(expr >= lowered, expr < _next_prefix(lowered))


@compiles(PrefixMatch)
def _compile_prefix_match(element: PrefixMatch, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.pattern_match, **kw)


@compiles(PrefixMatch, "sqlite")
def _compile_prefix_match_sqlite(element: PrefixMatch, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(and_(element.bounds, element.pattern_match), **kw)


def user_search_filter(query: str) -> ColumnElement[bool]:
    """Users whose email or display name starts with `query` (case-insensitive).

    `query` was checked by the caller (`accounts.list_users`: one line, `SEARCH_QUERY_MAX`)."""
    text = query.strip()
    return or_(
        PrefixMatch(func.lower(User.email), text),
        PrefixMatch(func.lower(User.display_name), text),
    )


def user_page_statement(*, query: str | None, after: int | None, limit: int) -> Select[tuple[User]]:
    """One keyset page of users (LIMIT limit+1 tells whether another page follows)."""
    searching = bool(query and query.strip())
    # While searching, order by `id + 0`: the planner then cannot walk the primary key in order
    # and filter (it guesses that matches are spread evenly, so a prefix whose matches all sit at
    # high ids would scan most of the table); it fetches the matches from the search indexes and
    # sorts them. Without a search the primary key walk is right and stays.
    stmt = select(User).order_by(User.id + 0 if searching else User.id).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(User.id > after)
    if searching:
        stmt = stmt.where(user_search_filter(query or ""))
    return stmt
