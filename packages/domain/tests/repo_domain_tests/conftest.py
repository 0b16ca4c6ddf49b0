"""repo_db's per-dialect migrated test engine for the domain tests."""

from __future__ import annotations

from repo_db.testing import db_engine

# Imported, not `pytest_plugins`: pytest honours pytest_plugins only in the rootdir's conftest.
__all__ = ["db_engine"]
