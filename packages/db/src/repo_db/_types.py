"""Types shared by the CRUD helpers and their callers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

#: One row as a plain dict (column name -> value). A dict, not a TypedDict, because the helpers
#: are table-agnostic; use the ORM models when you want per-column types.
DbRecord: TypeAlias = dict[str, Any]

#: Column name -> value. A list/tuple/set value means ``IN (...)``, ``None`` means ``IS NULL``.
WhereCondition: TypeAlias = Mapping[str, Any]

#: Row id (primary key value).
RowId: TypeAlias = int | str

__all__ = ["DbRecord", "RowId", "WhereCondition"]
