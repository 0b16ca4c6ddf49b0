"""repo_db.stream_rows on both databases: every row in order, one snapshot, the connection back
in the pool when a reader stops early, errors translated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select, text

from repo_db import QueryError, RepoDbError, create_many, stream_rows
from repo_db.models import User
from repo_db.testing import truncate_all

ROWS = 2_500  # more than two batches of 1,000


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    create_many(
        "users",
        [
            {"email": f"s{n:05d}@stream.test", "password_hash": "x", "display_name": f"S{n}"}
            for n in range(ROWS)
        ],
        engine=db_engine,
    )
    try:
        yield db_engine
    finally:
        truncate_all(db_engine)


def test_every_row_in_order_across_batches(engine: Engine) -> None:
    # Fails if a batch boundary drops or repeats rows (e.g. only the first partition is read).
    rows = stream_rows(select(User.email).order_by(User.id), bind=engine, batch_size=1_000)
    emails = [row.email for row in rows]
    assert emails == [f"s{n:05d}@stream.test" for n in range(ROWS)]


def test_one_snapshot_for_the_whole_stream(engine: Engine) -> None:
    # Rows committed by another connection after the stream started are not in it: the export is
    # one consistent picture (fails if each batch re-ran the query or ran outside a transaction).
    rows = stream_rows(select(User.email).order_by(User.id), bind=engine, batch_size=100)
    first = next(rows)
    create_many(
        "users",
        [{"email": "late@stream.test", "password_hash": "x", "display_name": "Late"}],
        engine=engine,
    )
    rest = [row.email for row in rows]
    assert first.email == "s00000@stream.test"
    assert len(rest) == ROWS - 1 and "late@stream.test" not in rest
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(User)) == ROWS + 1


def test_stopping_early_returns_the_connection(engine: Engine) -> None:
    # A client that disconnects mid-download closes the generator: the connection (and, on
    # PostgreSQL, its server-side cursor and transaction) must not leak.
    before = engine.pool.checkedout()  # type: ignore[attr-defined]
    rows = stream_rows(select(User.id).order_by(User.id), bind=engine, batch_size=10)
    next(rows)
    assert engine.pool.checkedout() == before + 1  # type: ignore[attr-defined]
    rows.close()
    assert engine.pool.checkedout() == before  # type: ignore[attr-defined]


def test_errors_are_repo_db_errors(engine: Engine) -> None:
    with pytest.raises(RepoDbError) as caught:
        list(stream_rows(text("SELECT nope FROM users"), bind=engine))
    assert isinstance(caught.value, QueryError) or "nope" in str(caught.value)
    with pytest.raises(ValueError, match="at least 1"):
        list(stream_rows(select(User.id), bind=engine, batch_size=0))
