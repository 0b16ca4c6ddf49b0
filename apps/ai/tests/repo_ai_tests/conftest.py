"""The apps/ai tests run on both databases through repo_db.testing's fixtures."""

from __future__ import annotations

from repo_db.testing import db_connection, db_engine, db_session

__all__ = ["db_connection", "db_engine", "db_session"]
