"""Admin user search: right rows, keyset pages, and a plan that uses the 0006 indexes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from repo_db import unit_of_work
from repo_db.models import Role, User
from repo_db.testing import truncate_all
from repo_domain import accounts
from repo_domain.common import Actor
from repo_domain.errors import Forbidden
from repo_domain.search import user_page_statement

ADMIN = Actor(id=1, role=Role.ADMIN)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture()
def users(db_engine: Engine) -> Iterator[Engine]:
    rows = [
        {"email": f"user{n}@seed.test", "display_name": f"Seed User {n}"} for n in range(300)
    ] + [
        {"email": "ANNA@Example.test", "display_name": "Zoe Upper"},
        {"email": "under_score@x.test", "display_name": "100% Real"},
        {"email": "underXscore@x.test", "display_name": "Wildcard Bait"},
    ]
    with unit_of_work(bind=db_engine) as session:
        session.execute(
            insert(User),
            [
                {
                    **r,
                    "password_hash": "x",
                    "role": Role.LEARNER,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for r in rows
            ],
        )
    try:
        yield db_engine
    finally:
        truncate_all(db_engine)


def search(engine: Engine, query: str | None, *, after: int | None = None, limit: int = 25) -> Any:
    with unit_of_work(read_only=True, bind=engine) as session:
        page = accounts.list_users(session, actor=ADMIN, query=query, after=after, limit=limit)
        return [u.email for u in page.items], page.next_after


def test_prefix_of_email_or_display_name_case_insensitive(users: Engine) -> None:
    emails, _ = search(users, "USER29")
    assert emails == ["user29@seed.test"] + [f"user{n}@seed.test" for n in range(290, 300)]
    assert search(users, "anna")[0] == ["ANNA@Example.test"]
    assert search(users, "zoe u")[0] == ["ANNA@Example.test"]
    assert search(users, "seed user 299")[0] == ["user299@seed.test"]
    assert search(users, "eed")[0] == []  # a prefix search, not a substring search


def test_like_wildcards_are_literal(users: Engine) -> None:
    assert search(users, "under_")[0] == ["under_score@x.test"]
    assert search(users, "100%")[0] == ["under_score@x.test"]
    assert search(users, "%")[0] == []


def test_keyset_pages_cover_every_match_once(users: Engine) -> None:
    seen: list[str] = []
    after = None
    while True:
        emails, after = search(users, "seed user 1", after=after, limit=7)
        seen.extend(emails)
        if after is None:
            break
    expected = {f"user{n}@seed.test" for n in range(300) if str(n).startswith("1")}
    assert len(seen) == len(set(seen)) == len(expected) and set(seen) == expected


def test_only_admins_search(users: Engine) -> None:
    with unit_of_work(read_only=True, bind=users) as session, pytest.raises(Forbidden):
        accounts.list_users(
            session, actor=Actor(id=2, role=Role.AUTHOR), query="a", after=None, limit=5
        )


def _plan(engine: Engine, query: str) -> str:
    compiled = user_page_statement(query=query, after=None, limit=25).compile(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            params: Any = tuple(compiled.params[k] for k in compiled.positiontup or ())
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
        else:
            # A few hundred rows fit in one page, where a scan is cheapest; forbid it to show
            # that the indexes can serve the query (docs/benchmarks.md has the 100k-row plans).
            conn.exec_driver_sql("SET enable_seqscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
            conn.rollback()
    return "\n".join(str(r[-1]) for r in rows)


def test_the_search_uses_both_indexes(users: Engine) -> None:
    plan = _plan(users, "user12")
    assert "ix_users_lower_email" in plan, plan
    assert "ix_users_lower_display_name" in plan, plan
    assert "SCAN users" not in plan and "Seq Scan" not in plan, plan
