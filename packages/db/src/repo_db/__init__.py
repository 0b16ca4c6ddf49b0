"""repo_db: the shared database layer (SQLAlchemy 2, PostgreSQL/Neon in production, SQLite in dev).

Everything an app needs is importable from ``repo_db`` itself (``__all__``), plus the public
submodules ``repo_db.models`` (tables and enums), ``repo_db.config`` (settings, environment),
``repo_db.migrate``, ``repo_db.seed`` / ``repo_db.bulk_seed``, ``repo_db.security`` (password
hashing), ``repo_db.testing`` (pytest fixtures) and ``repo_db.cli``. Modules whose names start
with ``_`` are private: Pants' visibility rules keep other packages from importing them.

``db``, ``db_type`` and ``settings`` are resolved lazily on first access, so importing repo_db
never reads the environment or opens a connection.

The knex one-liner ``db('users').where('email', email).first()`` is
``find_by("users", "email", email)``; its row is a ``DbRecord`` and a ``where`` mapping is a
``WhereCondition`` (the seed's ``@repo/db`` types, exported here too).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from repo_db import (
    exposure,
    jobs,
    models,
)

# jobs: the work queue (enqueue, claim under a lease, complete)
# exposure: adaptive tests' counters (attempts started, learners served per question)
from repo_db._context import remember_writes, savepoint, unit_of_work
from repo_db._crud import (
    count,
    create,
    create_many,
    delete,
    exists,
    find_by,
    find_by_id,
    find_many,
    find_one,
    update,
    upsert,
)
from repo_db._engine import build_engine, dispose_engines, get_engine
from repo_db._errors import (
    ConfigError,
    ConstraintViolation,
    DatabaseUnavailableError,
    DuplicateError,
    IntegrityViolation,
    InvalidQueryError,
    InvalidValueError,
    MigrationStateError,
    MissingReferenceError,
    NotFoundError,
    QueryError,
    RepoDbError,
    UnknownColumnError,
    UnknownTableError,
)
from repo_db._health import HealthReport, check_health
from repo_db._routing import ReplicaStatus, replica_status, routing_counts
from repo_db._schema import create_tables, drop_tables
from repo_db._service import DbService
from repo_db._stream import STREAM_BATCH_SIZE, stream_rows
from repo_db._types import DbRecord, RowId, WhereCondition
from repo_db.config import get_settings as _get_settings

# A library prints nothing unless the application configures logging: without this handler,
# Python's last-resort handler would write repo_db's warnings to stderr.
logging.getLogger("repo_db").addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from repo_db.config import DbSettings, DbType

    db: Engine
    db_type: DbType
    settings: DbSettings


def __getattr__(name: str) -> Any:
    # PEP 562: computed on each access (get_engine/get_settings cache), never at import time.
    if name == "db":
        return get_engine()
    if name == "db_type":
        return _get_settings().db_type
    if name == "settings":
        return _get_settings()
    raise AttributeError(f"module 'repo_db' has no attribute {name!r}")


__all__ = [
    "STREAM_BATCH_SIZE",
    "ConfigError",
    "ConstraintViolation",
    "DatabaseUnavailableError",
    "DbRecord",
    "DbService",
    "DuplicateError",
    "HealthReport",
    "IntegrityViolation",
    "InvalidQueryError",
    "InvalidValueError",
    "MigrationStateError",
    "MissingReferenceError",
    "NotFoundError",
    "QueryError",
    "RepoDbError",
    "ReplicaStatus",
    "RowId",
    "UnknownColumnError",
    "UnknownTableError",
    "WhereCondition",
    "build_engine",
    "check_health",
    "count",
    "create",
    "create_many",
    "create_tables",
    "db",
    "db_type",
    "delete",
    "dispose_engines",
    "drop_tables",
    "exists",
    "exposure",
    "find_by",
    "find_by_id",
    "find_many",
    "find_one",
    "get_engine",
    "jobs",
    "models",
    "remember_writes",
    "replica_status",
    "routing_counts",
    "savepoint",
    "settings",
    "stream_rows",
    "unit_of_work",
    "update",
    "upsert",
]
