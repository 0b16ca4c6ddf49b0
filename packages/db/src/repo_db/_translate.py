"""Turn driver / SQLAlchemy exceptions into repo_db exceptions, without leaking parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, UniqueConstraint
from sqlalchemy import exc as sa_exc

from repo_db._errors import (
    ConstraintViolation,
    DatabaseUnavailableError,
    DuplicateError,
    IntegrityViolation,
    InvalidValueError,
    MissingReferenceError,
    QueryError,
    RepoDbError,
)

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: (\S+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\S+)")
_SQLITE_MISSING_SCHEMA = ("no such table", "no such column")
# PostgreSQL SQLSTATEs that mean "this value does not fit this column / operator".
_PG_VALUE_STATES = {"42804", "42883", "42P18", "42846"}


def _first_line(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _sqlstate(exc: BaseException | None) -> str:
    return str(getattr(exc, "sqlstate", None) or "")


def _unique_name(table: Table | None, table_name: str, columns: list[str]) -> str:
    """Find the constraint (or unique index) SQLite reported only as ``table.col, table.col``."""
    if table is not None and table.name == table_name:
        if [c.name for c in table.primary_key.columns] == columns:
            return str(table.primary_key.name or f"pk_{table_name}")
        for constraint in table.constraints:
            if (
                isinstance(constraint, UniqueConstraint)
                and [c.name for c in constraint.columns] == columns
            ):
                return str(constraint.name)
        for index in table.indexes:
            if index.unique and [c.name for c in index.columns] == columns:
                return str(index.name)
    return f"{table_name}({', '.join(columns)})"


def _fk_guess(table: Table | None, data: Mapping[str, Any] | None) -> str | None:
    """SQLite does not name the failed foreign key: name it when only one was written."""
    if table is None or not data:
        return None
    candidates = [str(fk.name) for fk in table.foreign_key_constraints if fk.column_keys[0] in data]
    return candidates[0] if len(candidates) == 1 else None


def integrity_error(
    exc: sa_exc.IntegrityError, table: Table | None, data: Mapping[str, Any] | None
) -> IntegrityViolation:
    orig = exc.orig
    message = _first_line(orig)
    diag = getattr(orig, "diag", None)
    state = _sqlstate(orig)
    table_name = table.name if table is not None else None
    if diag is not None:  # psycopg: the server names everything
        name = diag.constraint_name
        if state == "23502":
            name = name or f"{diag.table_name}.{diag.column_name} NOT NULL"
            return ConstraintViolation(message, constraint=name, table=diag.table_name)
        cls: type[IntegrityViolation] = {
            "23505": DuplicateError,
            "23503": MissingReferenceError,
            "23514": ConstraintViolation,
        }.get(state, IntegrityViolation)
        return cls(message, constraint=name, table=diag.table_name or table_name)
    if match := _SQLITE_UNIQUE.match(message):
        qualified = [part.strip() for part in match.group(1).split(",")]
        reported_table = qualified[0].split(".")[0]
        columns = [part.split(".", 1)[-1] for part in qualified]
        name = _unique_name(table, reported_table, columns)
        return DuplicateError(message, constraint=name, table=reported_table)
    if match := _SQLITE_NOT_NULL.match(message):
        column = match.group(1)
        return ConstraintViolation(
            message, constraint=f"{column} NOT NULL", table=column.split(".")[0]
        )
    if match := _SQLITE_CHECK.match(message):
        return ConstraintViolation(message, constraint=match.group(1), table=table_name)
    if "FOREIGN KEY" in message:
        return MissingReferenceError(message, constraint=_fk_guess(table, data), table=table_name)
    return IntegrityViolation(message, table=table_name)


def translate(
    exc: BaseException, table: Table | None = None, data: Mapping[str, Any] | None = None
) -> RepoDbError:
    """The repo_db exception for ``exc`` (which must not be a RepoDbError already)."""
    if isinstance(exc, sa_exc.IntegrityError):
        return integrity_error(exc, table, data)
    if isinstance(exc, sa_exc.TimeoutError):
        # QueuePool limit reached: every connection is busy. Retryable, like a lost connection.
        return DatabaseUnavailableError(
            "no database connection free within the pool timeout (DB_POOL_TIMEOUT); retry shortly"
        )
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        state = _sqlstate(orig)
        if isinstance(exc, sa_exc.DataError) or state.startswith("22") or state in _PG_VALUE_STATES:
            return InvalidValueError(f"value rejected by the database: {_first_line(orig)}")
        if "cannot adapt" in _first_line(orig) or "cannot dump" in _first_line(orig):
            return InvalidValueError(f"value rejected by the driver: {_first_line(orig)}")
        if exc.connection_invalidated or state.startswith("08") or state in {"57P01", "57P03"}:
            return DatabaseUnavailableError(f"database connection lost: {_first_line(orig)}")
        if isinstance(exc, sa_exc.OperationalError) and not state:  # SQLite
            message = _first_line(orig)
            if message.startswith(_SQLITE_MISSING_SCHEMA):
                return QueryError(f"{message}: the schema is missing, run `repo-db migrate up`")
            if message == "unable to open database file":
                return DatabaseUnavailableError(
                    "cannot open the SQLite database file: check that its directory exists and "
                    "is writable (SQLITE_PATH)"
                )
            return DatabaseUnavailableError(f"database unavailable: {message}")
        if state == "42P01":  # PostgreSQL undefined_table
            return QueryError(
                f"{_first_line(orig)}: the schema is missing, run `repo-db migrate up`"
            )
        return QueryError(f"{type(orig).__name__}: {_first_line(orig)}")
    if isinstance(exc, sa_exc.StatementError):
        # Raised before reaching the server: a bind processor refused the Python value.
        return InvalidValueError(f"value rejected: {_first_line(exc.orig)}")
    if isinstance(exc, OverflowError | TypeError | ValueError):
        return InvalidValueError(f"value rejected by the driver: {_first_line(exc)}")
    if isinstance(exc, sa_exc.SQLAlchemyError):
        return QueryError(f"{type(exc).__name__}: {_first_line(exc)}")
    raise TypeError(f"cannot translate {type(exc).__name__}") from exc


@contextmanager
def translated(table: Table | None = None, data: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Re-raise database errors raised in the block as repo_db errors."""
    try:
        yield
    except RepoDbError:
        raise
    except (sa_exc.SQLAlchemyError, OverflowError, TypeError, ValueError) as exc:
        raise translate(exc, table, data) from None


@contextmanager
def translated_db_errors() -> Iterator[None]:
    """Like ``translated()``, for blocks of caller code: only database errors are translated.

    A ``ValueError`` raised by the caller's own code inside a unit of work stays what it is.
    """
    try:
        yield
    except RepoDbError:
        raise
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc) from None
