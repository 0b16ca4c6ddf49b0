"""Table-agnostic CRUD helpers on SQLAlchemy Core.

Every table and column name is resolved against ``repo_db.models.metadata`` before any SQL is
built, so an unknown name is a ``UnknownTableError``/``UnknownColumnError`` and nothing
user-supplied ever becomes SQL text. Values are always bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Executable,
    Select,
    Table,
    UniqueConstraint,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ClauseElement

from repo_db._context import Bind, use_connection
from repo_db._errors import InvalidQueryError, UnknownColumnError, UnknownTableError
from repo_db._translate import translated
from repo_db._types import DbRecord, RowId, WhereCondition
from repo_db.models import metadata

#: Rows per INSERT statement in ``create_many`` (keeps parameter counts under driver limits).
CREATE_MANY_BATCH = 1_000
_IN_TYPES = (list, tuple, set, frozenset)
#: Bind names of the cached statements; columns are never named like this.
_KEY_PARAM = "repo_db_key"
_VALUE_PARAM = "repo_db_value"

# Statements built once per (kind, table[, column]) and reused: SQLAlchemy memoizes a
# statement object's cache key, so a reused statement skips both construction and cache-key
# generation (~30-55 µs per call), and its compiled form comes from the engine's compiled cache.
_statements: dict[tuple[Any, ...], Any] = {}


def table_of(table: str | Table) -> Table:
    if isinstance(table, Table):
        if metadata.tables.get(table.name) is not table:
            raise UnknownTableError(table.name)
        return table
    if not isinstance(table, str):
        raise UnknownTableError(repr(table))
    found = metadata.tables.get(table)
    if found is None:
        raise UnknownTableError(table)
    return found


def column_of(table: Table, name: str) -> Column[Any]:
    column = table.columns.get(name) if isinstance(name, str) else None
    if column is None:
        raise UnknownColumnError(table.name, str(name))
    return column


def _pk(table: Table) -> Column[Any]:
    columns = list(table.primary_key.columns)
    if len(columns) != 1:
        raise InvalidQueryError(f"table {table.name!r} has no single-column primary key")
    return columns[0]


def _check_data(table: Table, data: Mapping[str, Any], *, allow_empty: bool = False) -> None:
    if not isinstance(data, Mapping):
        raise InvalidQueryError(f"row data for {table.name!r} must be a mapping")
    if not data and not allow_empty:
        raise InvalidQueryError(f"no columns given for {table.name!r}")
    for name in data:
        column_of(table, name)


def _conditions(table: Table, where: WhereCondition | None) -> list[ColumnElement[bool]]:
    if where is None:
        return []
    if not isinstance(where, Mapping):
        raise InvalidQueryError("where must be a mapping of column name to value")
    clauses: list[ColumnElement[bool]] = []
    for name, value in where.items():
        column = column_of(table, name)
        if value is None:
            clauses.append(column.is_(None))
        elif isinstance(value, _IN_TYPES):
            clauses.append(column.in_(list(value)))
        else:
            clauses.append(column == value)
    return clauses


def _record(row: Any) -> DbRecord:
    return dict(row._mapping)


def _is_sql(value: Any) -> bool:
    return isinstance(value, ClauseElement) or hasattr(value, "__clause_element__")


def _bindable(column: Column[Any], value: Any) -> bool:
    """Whether ``column == value`` binds ``value`` with the column's own type.

    That is the case the cached statements reproduce exactly; None (IS NULL), IN lists, SQL
    expressions and values SQLAlchemy would bind with another type (e.g. a str compared with an
    integer column) take the original, uncached path.
    """
    if value is None or isinstance(value, _IN_TYPES) or _is_sql(value):
        return False
    return column.type.coerce_compared_value(operators.eq, value) is column.type


def _cached(key: tuple[Any, ...], build: Any) -> Any:
    stmt = _statements.get(key)
    if stmt is None:
        stmt = _statements.setdefault(key, build())
    return stmt


def _select_where(t: Table, column: Column[Any]) -> Executable:
    return _cached(
        ("select", t, column.key),
        lambda: select(t)
        .where(column == bindparam(_VALUE_PARAM, type_=column.type))
        .order_by(*t.primary_key.columns)
        .limit(1),
    )


def find_by_id(table: str | Table, id: RowId, *, engine: Bind | None = None) -> DbRecord | None:
    """The row whose primary key is ``id``, or None."""
    t = table_of(table)
    pk = _pk(t)
    if _bindable(pk, id):
        return _first_cached(t, _select_where(t, pk), {_VALUE_PARAM: id}, engine)
    return _first(t, select(t).where(pk == id), engine)


def find_by(
    table: str | Table, column: str, value: Any, *, engine: Bind | None = None
) -> DbRecord | None:
    """First row (by primary key) where ``column = value``, or None.

    knex: ``db(t).where(column, value).first()``.
    """
    t = table_of(table)
    if isinstance(column, str):
        col = column_of(t, column)
        if _bindable(col, value):
            return _first_cached(t, _select_where(t, col), {_VALUE_PARAM: value}, engine)
    stmt = select(t).where(*_conditions(t, {column: value})).order_by(*t.primary_key.columns)
    return _first(t, stmt, engine)


def find_one(
    table: str | Table, where: WhereCondition, *, engine: Bind | None = None
) -> DbRecord | None:
    """First row (by primary key) matching every condition of ``where``, or None."""
    t = table_of(table)
    stmt = select(t).where(*_conditions(t, where)).order_by(*t.primary_key.columns)
    return _first(t, stmt, engine)


def _first(t: Table, stmt: Select[Any], engine: Bind | None) -> DbRecord | None:
    with translated(t), use_connection(engine) as conn:
        row = conn.execute(stmt.limit(1)).first()
    return _record(row) if row is not None else None


def _first_cached(
    t: Table, stmt: Executable, params: dict[str, Any], engine: Bind | None
) -> DbRecord | None:
    with translated(t), use_connection(engine) as conn:
        row = conn.execute(stmt, params).first()
    return _record(row) if row is not None else None


def _order(t: Table, order_by: str | None) -> tuple[Column[Any], bool]:
    if order_by is None:
        return _pk(t), False
    if not isinstance(order_by, str):
        raise InvalidQueryError("order_by must be a column name, optionally prefixed with '-'")
    descending = order_by.startswith("-")
    return column_of(t, order_by.removeprefix("-")), descending


def find_many(
    table: str | Table,
    where: WhereCondition | None = None,
    *,
    order_by: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
    after: Any = None,
    engine: Bind | None = None,
) -> list[DbRecord]:
    """Rows matching ``where``, ordered by ``order_by`` (``"-col"`` = descending; default: pk).

    ``after`` is keyset pagination: pass the ``order_by`` value of the last row of the previous
    page. Unlike ``offset`` it stays fast deep into 100k-row tables; use a unique column (or
    the primary key) so no row is skipped.
    """
    t = table_of(table)
    column, descending = _order(t, order_by)
    stmt = select(t).where(*_conditions(t, where))
    if after is not None:
        stmt = stmt.where(column < after if descending else column > after)
    stmt = stmt.order_by(column.desc() if descending else column.asc())
    pk_columns = list(t.primary_key.columns)
    if not any(column is pk for pk in pk_columns):
        stmt = stmt.order_by(*pk_columns)  # deterministic order among equal values
    for name, value in (("limit", limit), ("offset", offset)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise InvalidQueryError(f"{name} must be a non-negative integer")
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    with translated(t), use_connection(engine) as conn:
        return [_record(row) for row in conn.execute(stmt)]


def count(
    table: str | Table, where: WhereCondition | None = None, *, engine: Bind | None = None
) -> int:
    """Number of rows matching ``where``."""
    t = table_of(table)
    stmt = select(func.count()).select_from(t).where(*_conditions(t, where))
    with translated(t), use_connection(engine) as conn:
        return int(conn.execute(stmt).scalar_one())


def exists(table: str | Table, where: WhereCondition, *, engine: Bind | None = None) -> bool:
    """Whether any row matches ``where``."""
    t = table_of(table)
    stmt = select(select(t).where(*_conditions(t, where)).exists())
    with translated(t), use_connection(engine) as conn:
        return bool(conn.execute(stmt).scalar_one())


def create(table: str | Table, data: Mapping[str, Any], *, engine: Bind | None = None) -> DbRecord:
    """Insert one row and return it as stored (defaults and generated id included)."""
    t = table_of(table)
    _check_data(t, data)
    values = dict(data)
    if any(_is_sql(v) for v in values.values()):
        stmt = insert(t).values(values).returning(*t.columns)
        with translated(t, data), use_connection(engine, write=True) as conn:
            return _record(conn.execute(stmt).one())
    # Same SQL as ``insert(t).values(values)``: the parameter keys pick the columns.
    cached = _cached(("insert", t), lambda: insert(t).returning(*t.columns))
    with translated(t, data), use_connection(engine, write=True) as conn:
        return _record(conn.execute(cached, values).one())


def create_many(
    table: str | Table, rows: Iterable[Mapping[str, Any]], *, engine: Bind | None = None
) -> int:
    """Insert many rows with batched executemany (all or nothing); returns the count."""
    t = table_of(table)
    batch: list[dict[str, Any]] = []
    total = 0
    with translated(t), use_connection(engine, write=True) as conn:
        for row in rows:
            _check_data(t, row)
            batch.append(dict(row))
            if len(batch) >= CREATE_MANY_BATCH:
                total += _insert_batch(conn, t, batch)
                batch = []
        if batch:
            total += _insert_batch(conn, t, batch)
    return total


def _insert_batch(conn: Any, t: Table, batch: list[dict[str, Any]]) -> int:
    # executemany needs uniform keys; group rows by their key set.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in batch:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for group in groups.values():
        conn.execute(insert(t), group)
    return len(batch)


def update(
    table: str | Table, id: RowId, data: Mapping[str, Any], *, engine: Bind | None = None
) -> DbRecord | None:
    """Update columns of the row with primary key ``id``; returns the new row, or None if absent."""
    t = table_of(table)
    _check_data(t, data, allow_empty=True)
    if not data:
        return find_by_id(t, id, engine=engine)
    pk = _pk(t)
    values = dict(data)
    if _KEY_PARAM in t.columns or not _bindable(pk, id) or any(_is_sql(v) for v in values.values()):
        stmt: Executable = sa_update(t).where(pk == id).values(values).returning(*t.columns)
        params: dict[str, Any] | None = None
    else:
        # Same SQL as ``.values(values)``: the parameter keys that name columns form the SET.
        stmt = _cached(
            ("update", t),
            lambda: sa_update(t)
            .where(pk == bindparam(_KEY_PARAM, type_=pk.type))
            .returning(*t.columns),
        )
        params = {**values, _KEY_PARAM: id}
    with translated(t, data), use_connection(engine, write=True) as conn:
        row = conn.execute(stmt, params).first()
    return _record(row) if row is not None else None


def _conflict_target_ok(t: Table, columns: Sequence[str]) -> bool:
    wanted = set(columns)
    uniques = [{c.name for c in t.primary_key.columns}]
    uniques += [
        {c.name for c in constraint.columns}
        for constraint in t.constraints
        if isinstance(constraint, UniqueConstraint)
    ]
    uniques += [{c.name for c in index.columns} for index in t.indexes if index.unique]
    uniques += [{c.name} for c in t.columns if c.unique]
    return wanted in uniques


def upsert(
    table: str | Table,
    data: Mapping[str, Any],
    *,
    conflict: Sequence[str],
    engine: Bind | None = None,
) -> DbRecord:
    """Insert ``data``, or update the row that has the same ``conflict`` columns; returns it.

    ``conflict`` must be the primary key or a unique constraint (ON CONFLICT needs one).
    """
    t = table_of(table)
    _check_data(t, data)
    if isinstance(conflict, str) or not conflict:
        raise InvalidQueryError("conflict must be a non-empty list of column names")
    for name in conflict:
        column_of(t, name)
        if name not in data:
            raise InvalidQueryError(f"conflict column {name!r} must be present in data")
    if not _conflict_target_ok(t, conflict):
        raise InvalidQueryError(
            f"conflict columns {list(conflict)} of {t.name!r} are not a primary key or unique"
        )
    values = dict(data)
    set_: dict[str, Any] = {k: v for k, v in values.items() if k not in conflict}
    for column in t.columns:
        onupdate = column.onupdate
        if column.name not in values and onupdate is not None:
            arg = getattr(onupdate, "arg", None)
            if getattr(onupdate, "is_callable", False) and callable(arg):
                set_[column.name] = arg(None)
    if not set_:  # nothing to change: a no-op update still makes RETURNING yield the row
        set_ = {name: values[name] for name in conflict}
    with translated(t, data), use_connection(engine, write=True) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t).values(values)
        stmt = stmt.on_conflict_do_update(index_elements=list(conflict), set_=set_)
        return _record(conn.execute(stmt.returning(*t.columns)).one())


def delete(table: str | Table, id: RowId, *, engine: Bind | None = None) -> bool:
    """Delete the row with primary key ``id``; True if a row was deleted."""
    t = table_of(table)
    stmt = sa_delete(t).where(_pk(t) == id)
    with translated(t), use_connection(engine, write=True) as conn:
        return bool(conn.execute(stmt).rowcount)
