"""Which connection a helper runs on: an explicit one, the current ``transaction()``, or ``db``.

A ``ContextVar`` (not a thread-local) so that asyncio tasks and threads each see their own
transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from repo_db._engine import get_engine

Bind = Engine | Connection

_current: ContextVar[Connection | None] = ContextVar("repo_db_connection", default=None)
_factories: dict[Engine, sessionmaker[Session]] = {}
_factories_lock = threading.Lock()


def current_connection() -> Connection | None:
    """The connection of the innermost ``transaction()`` block, if any."""
    return _current.get()


def _joinable(bind: Bind | None) -> Connection | None:
    if isinstance(bind, Connection):
        return bind
    current = _current.get()
    if current is not None and (bind is None or current.engine is bind):
        return current
    return None


@contextmanager
def use_connection(bind: Bind | None = None, *, write: bool = False) -> Iterator[Connection]:
    """Run one helper call: join an existing transaction or open (and commit) a new one.

    Joined writes run in a SAVEPOINT, so a rejected write (e.g. a duplicate email) leaves the
    caller's transaction usable on PostgreSQL instead of aborting it.
    """
    conn = _joinable(bind)
    if conn is None:
        engine = bind if isinstance(bind, Engine) else get_engine()
        with engine.begin() as own:
            yield own
        return
    if write:
        with conn.begin_nested():
            yield conn
    else:
        yield conn


@contextmanager
def transaction(engine: Bind | None = None) -> Iterator[Connection]:
    """A transaction that every helper called inside joins; commits on success, else rolls back.

    Nested ``transaction()`` blocks become SAVEPOINTs. Passing a ``Connection`` (e.g. the test
    fixture's) runs the block inside it.
    """
    conn = _joinable(engine)
    if conn is not None:
        begin = conn.begin_nested() if conn.in_transaction() else conn.begin()
        token = _current.set(conn)
        try:
            with begin:
                yield conn
        finally:
            _current.reset(token)
        return
    target = engine if isinstance(engine, Engine) else get_engine()
    with target.begin() as own:
        token = _current.set(own)
        try:
            yield own
        finally:
            _current.reset(token)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    """A cached ``sessionmaker`` for ``engine`` (default: ``db``); no expiry on commit."""
    target = engine or get_engine()
    factory = _factories.get(target)
    if factory is None:
        with _factories_lock:
            factory = _factories.setdefault(
                target, sessionmaker(bind=target, expire_on_commit=False)
            )
    return factory


@contextmanager
def session_scope(engine: Bind | None = None) -> Iterator[Session]:
    """An ORM session that commits on success and rolls back on error.

    Inside ``transaction()`` (or given a Connection) the session joins that transaction through
    a SAVEPOINT, so ORM and Core writes commit or roll back together.
    """
    conn = _joinable(engine)
    if conn is None:
        target = engine if isinstance(engine, Engine) else None
        with session_factory(target).begin() as session:
            yield session
        return
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
