"""A throwaway PostgreSQL database for a benchmark run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from repo_db import get_engine
from repo_db.migrate import upgrade


@contextmanager
def private_database(admin: str, *, prefix: str) -> Iterator[Engine]:
    """A new migrated database on the server of ``admin``, dropped afterwards."""
    admin_url = make_url(admin).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    server = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = get_engine(admin_url.set(database=name).render_as_string(hide_password=False))
        upgrade(engine)
        yield engine
        engine.dispose()
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
