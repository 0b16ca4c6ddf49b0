"""The package's exceptions: callers catch these, never driver or SQLAlchemy classes.

Messages never contain bound parameters or passwords: SQLAlchemy's own messages embed both, so
database errors are rebuilt from the driver's first message line plus the constraint name.
"""

from __future__ import annotations


class RepoDbError(Exception):
    """Base class of every error raised by repo_db."""


class ConfigError(RepoDbError):
    """The environment does not describe a usable database (missing or malformed variable)."""


class UnknownTableError(RepoDbError, LookupError):
    """A table name that is not part of ``repo_db.models.metadata``."""

    def __init__(self, table: str) -> None:
        self.table = table
        super().__init__(f"unknown table {table!r}: not defined in repo_db.models")


class UnknownColumnError(RepoDbError, LookupError):
    """A column name that the table does not have."""

    def __init__(self, table: str, column: str) -> None:
        self.table = table
        self.column = column
        super().__init__(f"unknown column {column!r} on table {table!r}")


class InvalidQueryError(RepoDbError, ValueError):
    """Arguments that cannot form a valid statement (empty insert, bad conflict target...)."""


class InvalidValueError(InvalidQueryError):
    """A value the driver or the database rejected for its column type (out of range, bad text)."""


class IntegrityViolation(RepoDbError):
    """A write rejected by a constraint. ``constraint`` names it when it can be determined."""

    kind = "integrity"

    def __init__(self, message: str, *, constraint: str | None = None, table: str | None = None):
        self.constraint = constraint
        self.table = table
        self.detail = message
        label = f" [{constraint}]" if constraint else ""
        super().__init__(f"{self.kind} violation{label}: {message}")


class DuplicateError(IntegrityViolation):
    """UNIQUE or PRIMARY KEY violation (maps to HTTP 409)."""

    kind = "duplicate"


class MissingReferenceError(IntegrityViolation):
    """FOREIGN KEY violation: the referenced row does not exist, or is still referenced."""

    kind = "foreign key"


class ConstraintViolation(IntegrityViolation):
    """CHECK or NOT NULL violation."""

    kind = "constraint"


class NotFoundError(RepoDbError, LookupError):
    """A row that was required to exist does not."""


class DatabaseUnavailableError(RepoDbError):
    """The database cannot be reached (after retries) or the connection was lost."""


class MigrationStateError(RepoDbError):
    """The database's migration revision does not allow the operation (e.g. never migrated)."""


class QueryError(RepoDbError):
    """Any other database error; the message is the driver's, without parameters."""


__all__ = [
    "ConfigError",
    "ConstraintViolation",
    "DatabaseUnavailableError",
    "DuplicateError",
    "IntegrityViolation",
    "InvalidQueryError",
    "InvalidValueError",
    "MigrationStateError",
    "MissingReferenceError",
    "NotFoundError",
    "QueryError",
    "RepoDbError",
    "UnknownColumnError",
    "UnknownTableError",
]
