"""Read a large result set a batch at a time: exports that must never hold every row in memory."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from sqlalchemy import Engine, Executable, Row

from repo_db._context import _READ_ONLY_OPTION
from repo_db._engine import get_engine
from repo_db._translate import translated_db_errors

#: Rows fetched from the server per round trip.
STREAM_BATCH_SIZE = 1_000


def stream_rows(
    statement: Executable, *, bind: Engine | None = None, batch_size: int = STREAM_BATCH_SIZE
) -> Generator[Row[Any], None, None]:
    """Yield the rows of ``statement`` ``batch_size`` at a time, on a connection of its own.

    PostgreSQL reads through a server-side cursor (psycopg's named cursor, ``yield_per``) inside
    one REPEATABLE READ, read-only transaction, so the whole export sees one snapshot and the
    process holds one batch at a time; SQLite's cursor already steps through the result lazily.
    The connection is its own (not a unit of work's): a streamed HTTP response is read after the
    request's unit has ended. Closing the generator early (a client that went away) rolls back
    and returns the connection. Always the primary: a long read would pin a standby's replay.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    engine = bind if bind is not None else get_engine()
    with translated_db_errors(), engine.connect() as conn:
        conn.execution_options(**{_READ_ONLY_OPTION: True})
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            result = conn.execution_options(yield_per=batch_size).execute(statement)
            try:
                for batch in result.partitions():
                    yield from batch
            finally:
                result.close()


__all__ = ["STREAM_BATCH_SIZE", "stream_rows"]
