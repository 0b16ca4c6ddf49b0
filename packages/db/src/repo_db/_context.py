"""The unit of work: the one way apps, test fixtures and the CLI open a database transaction.

``unit_of_work()`` owns session creation, commit/rollback, error translation and the dialect
policy, so that no caller builds a sessionmaker, catches a SQLAlchemy exception or branches on
the dialect. The CRUD helpers called inside a unit join its transaction through a ``ContextVar``
(not a thread-local, so asyncio tasks and threads each see their own).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

from repo_db import _routing
from repo_db._engine import SQLITE_BEGIN_OPTION, get_engine
from repo_db._errors import InvalidQueryError
from repo_db._translate import translated_db_errors

#: Where a helper runs: an engine (own transaction), a connection, or a unit of work's session.
Bind = Engine | Connection | Session

_current: ContextVar[Connection | None] = ContextVar("repo_db_connection", default=None)
#: Connection execution option marking the connection of a read-only unit of work.
_READ_ONLY_OPTION = "repo_db_read_only"
#: ``Connection.info`` key: the clients whose read-your-writes position the unit's commit sets.
_CLIENTS_INFO = "repo_db_write_clients"
_READ_ONLY_MESSAGE = (
    "a read-only unit of work cannot write: open unit_of_work() without read_only=True"
)


def current_connection() -> Connection | None:
    """The connection of the innermost unit of work, if any."""
    return _current.get()


def _joinable(bind: Bind | None) -> Connection | None:
    if isinstance(bind, Connection):
        return bind
    if isinstance(bind, Session):
        return bind.connection()
    current = _current.get()
    if current is not None and (bind is None or current.engine is bind):
        return current
    return None


@contextmanager
def _own_transaction(
    engine: Engine,
    *,
    write: bool,
    conn: Connection | None = None,
    client: str | None = None,
) -> Iterator[Connection]:
    with conn if conn is not None else engine.connect() as conn:
        if write and conn.dialect.name == "sqlite":
            # Take SQLite's write lock at BEGIN: a deferred transaction that reads and then
            # writes after another connection committed fails with "database is locked" at
            # once (its snapshot cannot be upgraded), while BEGIN IMMEDIATE waits for the
            # busy timeout like any other lock.
            conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        if not write:
            conn.execution_options(**{_READ_ONLY_OPTION: True})
            if conn.dialect.name == "postgresql":
                # A read-only unit needs no transaction of its own: under READ COMMITTED every
                # statement takes its own snapshot either way, so BEGIN and COMMIT would only
                # add two round trips to every read (a third of a typical API GET's).
                conn.execution_options(isolation_level="AUTOCOMMIT")
        record = write and _routing.records_positions(engine)
        clients: set[str] = {client} if client else set()
        if record:
            conn.info[_CLIENTS_INFO] = clients  # remember_writes() adds to it
        try:
            with conn.begin():
                yield conn
        finally:
            if record:
                conn.info.pop(_CLIENTS_INFO, None)
        if record and clients:
            _routing.record_commit(conn, clients)


def remember_writes(session: Session, *, client: str) -> None:
    """Count the current writing unit's writes for ``client`` too (read-your-writes).

    For a client that did not exist when the unit began, e.g. the new session of a log-in: its
    first reads then see the unit's writes (its token) even on a lagging replica. A no-op when
    no replica is configured, and in a read-only unit.
    """
    clients = session.connection().info.get(_CLIENTS_INFO)
    if clients is not None:
        clients.add(client)


@contextmanager
def use_connection(bind: Bind | None = None, *, write: bool = False) -> Iterator[Connection]:
    """Run one helper call: join the current unit of work or open (and commit) a new one.

    Joined writes run in a SAVEPOINT, so a rejected write (e.g. a duplicate email) leaves the
    caller's transaction usable on PostgreSQL instead of aborting it.
    """
    conn = _joinable(bind)
    if conn is None:
        engine = bind if isinstance(bind, Engine) else get_engine()
        with _own_transaction(engine, write=write) as own:
            yield own
        return
    if write:
        _refuse_write_in_read_only(conn)
        with conn.begin_nested():
            yield conn
    else:
        yield conn


@contextmanager
def unit_of_work(
    *,
    read_only: bool = False,
    bind: Bind | None = None,
    client: str | None = None,
    fresh: bool = False,
) -> Iterator[Session]:
    """An ORM session in one transaction: commits when the block ends, rolls back if it raises.

    * Helpers (``find_by``, ``create``, ...) called inside the block run in the same
      transaction; where the block's code runs in another thread or context than the ``with``
      (a framework's dependency), pass the session explicitly: ``find_by(..., engine=session)``.
    * Database errors leave the block as repo_db errors (``DuplicateError``,
      ``MissingReferenceError``, ``ConstraintViolation``, ``DatabaseUnavailableError`` for lost
      connections, lock timeouts and an exhausted pool, ...), never as SQLAlchemy classes.
    * On SQLite a writing unit begins with ``BEGIN IMMEDIATE`` so concurrent writers queue on
      the busy timeout; ``read_only=True`` takes no write lock. On PostgreSQL a read-only unit
      of its own runs its statements in autocommit (no BEGIN/COMMIT round trips); its session
      refuses to flush ORM writes on both databases (``InvalidQueryError``).
    * Inside another unit (or given a ``Connection``, e.g. a test fixture's) the block runs in a
      SAVEPOINT of that transaction.

    ``bind`` defaults to the configured engine (``repo_db.db``); a ``read_only=True`` unit that
    is not nested in another may run on the read replica when ``DATABASE_READ_URL`` is set
    (repo_db._routing): only if the replica answers, is within DATABASE_READ_MAX_LAG_SECONDS and,
    given a ``client`` (a key of the caller's choosing, e.g. its session), has replayed that
    client's last write; a writing unit with a ``client`` records that write's position.
    ``fresh=True`` keeps a read-only unit on the primary (it must see every committed write,
    e.g. the credentials read by a log-in).
    """
    with translated_db_errors():
        joined = _joinable(bind)
        if joined is not None:
            if _read_only(joined):  # inside a read-only unit (autocommit on PostgreSQL)
                if not read_only:
                    raise InvalidQueryError(_READ_ONLY_MESSAGE)
                yield from _session_on(joined, read_only=True)
                return
            nested = joined.begin_nested() if joined.in_transaction() else joined.begin()
            with nested:
                yield from _session_on(joined, read_only=read_only)
            return
        engine = bind if isinstance(bind, Engine) else get_engine()
        replica = None
        if read_only and not fresh and not isinstance(bind, Engine):
            # A read-only unit of its own may go to the read replica (DATABASE_READ_URL);
            # nested units and helpers stay on their caller's connection.
            replica = _routing.replica_connection(client)
        with _own_transaction(engine, write=not read_only, conn=replica, client=client) as conn:
            yield from _session_on(conn, read_only=read_only)


def _read_only(conn: Connection) -> bool:
    return bool(conn.get_execution_options().get(_READ_ONLY_OPTION))


def _refuse_write_in_read_only(conn: Connection) -> None:
    if _read_only(conn):
        raise InvalidQueryError(_READ_ONLY_MESSAGE)


def _refuse_writes(session: Session, _context: object, _instances: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise InvalidQueryError(_READ_ONLY_MESSAGE)


def _session_on(conn: Connection, *, read_only: bool) -> Iterator[Session]:
    # Bound to a connection already in a transaction, the session never commits that
    # transaction (the unit does); its own commit only flushes (or releases its SAVEPOINT when
    # the unit is nested). Loaded objects stay usable after the block (no expiry on commit).
    session = Session(bind=conn, expire_on_commit=False)
    if read_only:
        event.listen(session, "before_flush", _refuse_writes)
    previous = _current.get()
    _current.set(conn)
    try:
        yield session
        session.commit()
    finally:
        # Not ``reset(token)``: a framework may end the unit in another context than the one
        # that began it (FastAPI runs a dependency's setup and teardown in separate threads).
        _current.set(previous)
        session.close()


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """Run a block in a SAVEPOINT: if it raises, only the block is undone and the unit goes on.

    Pending changes are flushed at the end of the block, so a constraint violation surfaces here
    as a repo_db error, e.g. ``except DuplicateError`` around an insert that may race.
    """
    with translated_db_errors(), session.begin_nested():
        yield
        session.flush()
