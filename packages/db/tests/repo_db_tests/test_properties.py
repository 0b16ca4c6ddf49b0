"""Property tests: arbitrary names and values either work or raise a RepoDbError, and a
rejected call leaves the database exactly as it was."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, func, select

import repo_db
from repo_db import RepoDbError
from repo_db.models import Role, metadata

TABLES = sorted(metadata.tables)
COLUMNS = sorted({c.name for t in metadata.tables.values() for c in t.columns})

table_names = st.one_of(st.sampled_from(TABLES), st.text(max_size=20))
column_names = st.one_of(st.sampled_from(COLUMNS), st.text(max_size=15))
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.datetimes(),
)
rows = st.dictionaries(column_names, values, max_size=6)
OPERATIONS = ("create", "find_by", "find_many", "update", "upsert", "count", "delete")

PROPERTY_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def snapshot(conn: Connection) -> dict[str, Any]:
    state: dict[str, Any] = {
        name: conn.execute(select(func.count()).select_from(table)).scalar_one()
        for name, table in metadata.tables.items()
    }
    users = metadata.tables["users"]
    state["users_rows"] = [tuple(r) for r in conn.execute(select(users).order_by(users.c.id))]
    return state


def call(
    op: str, table: str, column: str, value: Any, row: dict[str, Any], conn: Connection
) -> None:
    if op == "create":
        repo_db.create(table, row, engine=conn)
    elif op == "find_by":
        repo_db.find_by(table, column, value, engine=conn)
    elif op == "find_many":
        repo_db.find_many(table, {column: value}, limit=5, engine=conn)
    elif op == "update":
        repo_db.update(table, 1, row, engine=conn)
    elif op == "upsert":
        repo_db.upsert(table, row, conflict=[column], engine=conn)
    elif op == "count":
        repo_db.count(table, row, engine=conn)
    else:
        repo_db.delete(table, value, engine=conn)


@PROPERTY_SETTINGS
@given(
    op=st.sampled_from(OPERATIONS),
    table=table_names,
    column=column_names,
    value=values,
    row=rows,
)
def test_helpers_work_or_raise_repo_db_errors(
    db_connection: Connection, op: str, table: str, column: str, value: Any, row: dict[str, Any]
) -> None:
    before = snapshot(db_connection)
    try:
        # Reads are not wrapped in SAVEPOINTs (writes are): on PostgreSQL a rejected read
        # aborts the enclosing transaction, so each example runs in its own savepoint.
        with repo_db.unit_of_work(bind=db_connection):
            call(op, table, column, value, row, db_connection)
    except RepoDbError:
        assert snapshot(db_connection) == before


@PROPERTY_SETTINGS
@given(
    email=st.text(max_size=40),
    name=st.text(max_size=120),
    role=st.one_of(st.sampled_from([r.value for r in Role]), st.text(max_size=10)),
)
def test_user_round_trip_or_clean_rejection(
    db_connection: Connection, email: str, name: str, role: str
) -> None:
    before = snapshot(db_connection)
    data = {"email": email, "password_hash": "x", "display_name": name, "role": role}
    try:
        created = repo_db.create("users", data, engine=db_connection)
    except RepoDbError:
        assert snapshot(db_connection) == before
        return
    found = repo_db.find_by("users", "email", email, engine=db_connection)
    assert found is not None and found["id"] == created["id"]
    assert found["display_name"] == name and found["role"] == role
    repo_db.delete("users", created["id"], engine=db_connection)
