"""Programmatic Alembic: the migration scripts ship inside the package (``repo_db/migrations``).

Nothing here reads ``alembic.ini`` or depends on the working directory, so the same calls work
from the repo, from Pants sandboxes and from the installed wheel.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from repo_db._engine import build_engine
from repo_db._errors import MigrationStateError
from repo_db._translate import translated_db_errors
from repo_db.config import get_settings, normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
# Revision ids are zero-padded sequence numbers; file names must be valid module names for mypy.
FILE_TEMPLATE = "v%%(rev)s_%%(slug)s"

Target = Engine | Connection | URL | str | None


def alembic_config(url_or_engine: Target = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged scripts; the target travels in attributes."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(VERSIONS_DIR))
    cfg.set_main_option("file_template", FILE_TEMPLATE)
    cfg.set_main_option("truncate_slug_length", "40")
    if isinstance(url_or_engine, Connection):
        cfg.attributes["connection"] = url_or_engine
    elif isinstance(url_or_engine, Engine):
        cfg.attributes["engine"] = url_or_engine
    elif url_or_engine is not None:
        cfg.attributes["url"] = normalize_url(url_or_engine)
    return cfg


def migration_url() -> URL:
    """Default target: the DIRECT URL (migrations must not run through PgBouncer)."""
    return get_settings().direct_url


def _explain(error: CommandError) -> str:
    # Alembic's messages repeat the requested revision; say what to do instead.
    message = str(error)
    if message.startswith("Can't locate revision"):
        return "no migration has that revision: `repo-db migrate history` lists them"
    if message.startswith("Relative revision") or "didn't produce" in message:
        return (
            "the database does not have that many migrations to move through: "
            "`repo-db migrate status` shows where it is"
        )
    return f"migration failed: {message.splitlines()[0] if message else 'unknown error'}"


@contextmanager
def migration_connection(target: Target) -> Iterator[Connection]:
    """A connection on ``target`` (default: the direct URL), committed and closed after.

    Alembic begins and commits its own transactions on it (so that a migration's autocommit
    block can run); statements of the caller's own autobegin a transaction committed at the end.

    Database errors leave as repo_db errors, Alembic's as :class:`MigrationStateError`.
    """
    try:
        with translated_db_errors(), _connection(target) as conn:
            yield conn
    except CommandError as exc:
        raise MigrationStateError(_explain(exc)) from None


@contextmanager
def _connection(target: Target) -> Iterator[Connection]:
    if isinstance(target, Connection):
        yield target
        return
    # connect(), not begin(): Alembic owns the transaction, so that a migration's autocommit
    # block (CREATE INDEX CONCURRENTLY) can commit what precedes it.
    if isinstance(target, Engine):
        with target.connect() as conn:
            yield conn
            conn.commit()
        return
    engine = build_engine(
        migration_url() if target is None else normalize_url(target), throwaway=True
    )
    try:
        with engine.connect() as conn:
            yield conn
            conn.commit()
    finally:
        engine.dispose()


def upgrade(engine_or_url: Target = None, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (one transaction on PostgreSQL)."""
    with migration_connection(engine_or_url) as conn:
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine_or_url: Target = None, revision: str = "-1") -> None:
    """Revert migrations down to ``revision`` (``-1`` = one step, ``base`` = everything)."""
    with migration_connection(engine_or_url) as conn:
        command.downgrade(alembic_config(conn), revision)


def current_revision(engine_or_url: Target = None) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with migration_connection(engine_or_url) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return script_directory().get_current_head()


@dataclass(frozen=True)
class RevisionInfo:
    revision: str
    down_revision: str | None
    message: str


def history() -> list[RevisionInfo]:
    """Every shipped revision, oldest first."""
    revisions = [
        RevisionInfo(
            revision=script.revision,
            down_revision=script.down_revision if isinstance(script.down_revision, str) else None,
            message=(script.doc or "").strip(),
        )
        for script in script_directory().walk_revisions()
    ]
    return list(reversed(revisions))


def next_revision_id() -> str:
    numbers = [int(r.revision) for r in history() if re.fullmatch(r"\d+", r.revision)]
    return f"{max(numbers, default=0) + 1:04d}"


def new_revision(
    message: str, engine_or_url: Target = None, *, autogenerate: bool = True
) -> list[Path]:
    """Write a new revision file into the package's ``versions`` dir; returns its path(s).

    With ``autogenerate`` the models are compared with the database at ``engine_or_url``
    (which must be at head) and the differences are written as operations to review.
    """
    rev_id = next_revision_id()
    if not autogenerate:
        script = command.revision(alembic_config(), message=message, rev_id=rev_id)
        scripts = script if isinstance(script, list) else [script]
        return [Path(s.path) for s in scripts if s is not None]
    with migration_connection(engine_or_url) as conn:
        script = command.revision(
            alembic_config(conn), message=message, autogenerate=True, rev_id=rev_id
        )
    scripts = script if isinstance(script, list) else [script]
    return [Path(s.path) for s in scripts if s is not None]


__all__ = [
    "MIGRATIONS_DIR",
    "RevisionInfo",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "history",
    "migration_url",
    "new_revision",
    "upgrade",
]
