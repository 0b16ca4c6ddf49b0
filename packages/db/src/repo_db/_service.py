"""``DbService``: the CRUD helpers grouped on one class, mirroring the TypeScript ``DbService``."""

from __future__ import annotations

from repo_db import _crud


class DbService:
    """Static facade: ``DbService.find_by_id("users", 1)`` == ``repo_db.find_by_id("users", 1)``.

    Subclass it to add app-specific operations (see the README) while keeping the generic ones.
    """

    find_by_id = staticmethod(_crud.find_by_id)
    find_by = staticmethod(_crud.find_by)
    find_one = staticmethod(_crud.find_one)
    find_many = staticmethod(_crud.find_many)
    count = staticmethod(_crud.count)
    exists = staticmethod(_crud.exists)
    create = staticmethod(_crud.create)
    create_many = staticmethod(_crud.create_many)
    update = staticmethod(_crud.update)
    upsert = staticmethod(_crud.upsert)
    delete = staticmethod(_crud.delete)
