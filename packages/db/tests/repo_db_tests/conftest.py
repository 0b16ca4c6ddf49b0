"""repo_db's own tests use the fixtures the apps get from ``repo_db.testing``.

Importing them (rather than ``pytest_plugins = [...]``) works from any conftest depth: pytest
only accepts ``pytest_plugins`` in a rootdir/initial conftest.
"""

from __future__ import annotations

from repo_db.testing import (
    db_connection,
    db_default_engine,
    db_engine,
    db_session,
    standby_pair,
)

__all__ = ["db_connection", "db_default_engine", "db_engine", "db_session", "standby_pair"]
