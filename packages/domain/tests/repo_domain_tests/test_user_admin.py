"""Admin user management input, checked by the domain whichever adapter calls it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_db.models import Role, User
from repo_db.testing import truncate_all
from repo_domain import accounts
from repo_domain.common import Actor
from repo_domain.errors import Conflict, InvalidInput
from repo_domain.validation import MAX_ID, SEARCH_QUERY_MAX


@pytest.fixture()
def people(db_engine: Engine) -> Iterator[tuple[Engine, Actor, int]]:
    with unit_of_work(bind=db_engine) as session:
        admin = User(
            email="root@example.test", password_hash="x", display_name="Root", role=Role.ADMIN
        )
        learner = User(email="lea@example.test", password_hash="x", display_name="Lea")
        session.add_all([admin, learner])
        session.flush()
        ids = admin.id, learner.id
    try:
        yield db_engine, Actor(id=ids[0], role=Role.ADMIN), ids[1]
    finally:
        truncate_all(db_engine)


@pytest.mark.parametrize(
    ("query", "code"),
    [("le\x00a", "invalid_text"), ("lea\n", None), ("x" * (SEARCH_QUERY_MAX + 1), "too_long")],
)
def test_search_queries_are_checked(
    people: tuple[Engine, Actor, int], query: str, code: str | None
) -> None:
    engine, admin, _ = people
    with unit_of_work(read_only=True, bind=engine) as session:
        if code is None:  # surrounding white space (a trailing newline) is trimmed, not refused
            page = accounts.list_users(session, actor=admin, query=query, after=None, limit=5)
            assert [u.email for u in page.items] == ["lea@example.test"]
            return
        with pytest.raises(InvalidInput) as caught:
            accounts.list_users(session, actor=admin, query=query, after=None, limit=5)
    assert (caught.value.field, caught.value.code) == ("q", code)


def test_a_search_at_the_limit_and_an_empty_one_are_fine(people: tuple[Engine, Actor, int]) -> None:
    engine, admin, _ = people
    with unit_of_work(read_only=True, bind=engine) as session:
        long = accounts.list_users(
            session, actor=admin, query="l" * SEARCH_QUERY_MAX, after=None, limit=5
        )
        everyone = accounts.list_users(session, actor=admin, query="  ", after=None, limit=5)
    assert long.items == [] and len(everyone.items) == 2


def test_update_user_takes_a_role_or_its_value(people: tuple[Engine, Actor, int]) -> None:
    engine, admin, learner_id = people
    with unit_of_work(bind=engine) as session:
        user = accounts.update_user(session, actor=admin, user_id=learner_id, role="author")
        assert user.role == Role.AUTHOR
        user = accounts.update_user(session, actor=admin, user_id=learner_id, role=Role.LEARNER)
        assert user.role == Role.LEARNER


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"role": "superuser"}, "role"),
        ({"display_name": "Lea\x00"}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "L" * 101}, "display_name"),
        ({"user_id": MAX_ID + 1}, "user_id"),
    ],
)
def test_update_user_refuses_bad_input(
    people: tuple[Engine, Actor, int], changes: dict[str, object], field: str
) -> None:
    engine, admin, learner_id = people
    arguments: dict[str, object] = {"user_id": learner_id, **changes}
    with unit_of_work(bind=engine) as session, pytest.raises(InvalidInput) as caught:
        accounts.update_user(session, actor=admin, **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_an_admin_cannot_demote_themselves(people: tuple[Engine, Actor, int]) -> None:
    engine, admin, _ = people
    with unit_of_work(bind=engine) as session, pytest.raises(Conflict):
        accounts.update_user(session, actor=admin, user_id=admin.id, role=Role.LEARNER)
    with unit_of_work(bind=engine) as session:
        same = accounts.update_user(session, actor=admin, user_id=admin.id, role=Role.ADMIN)
        assert same.role == Role.ADMIN
