"""Statement logging through SQLAlchemy cursor events and the standard ``logging`` module.

Records go to the ``repo_db.query`` logger: a slow statement at WARNING (``DB_SLOW_QUERY_MS``,
on by default), every statement at DEBUG only when ``DB_LOG_QUERIES=true``. Like any library,
repo_db prints nothing itself: the application's logging configuration decides where records
go. The message reads ``db.slow_query duration_ms=... statement=...``; the same fields are on
the record as ``record.repo_db`` (a dict) for structured handlers. Parameters are redacted
unless ``log_params=True``: they carry password hashes, tokens and personal data.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext

from repo_db.config import DEFAULT_SLOW_QUERY_MS

REDACTED = "<redacted>"
MAX_STATEMENT_CHARS = 2_000
_START_KEY = "repo_db_query_start"
_INSTALLED_ATTR = "_repo_db_query_logging"

logger = logging.getLogger("repo_db.query")


class _QueryLogger:
    def __init__(self, *, slow_ms: float, log_all: bool, log_params: bool, db_type: str) -> None:
        self.slow_ms = slow_ms
        self.log_all = log_all
        self.log_params = log_params
        self.db_type = db_type

    def before(
        self,
        conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        # Stored on the per-execution context, so a failed statement leaves nothing behind.
        if context is not None:
            setattr(context, _START_KEY, time.perf_counter())

    def after(
        self,
        conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        start: float | None = getattr(context, _START_KEY, None)
        if start is None:
            return
        duration_ms = (time.perf_counter() - start) * 1000.0
        slow = self.slow_ms > 0 and duration_ms >= self.slow_ms
        if not (slow or self.log_all):
            return
        fields: dict[str, Any] = {
            "duration_ms": round(duration_ms, 3),
            "statement": " ".join(statement.split())[:MAX_STATEMENT_CHARS],
            "params": parameters if self.log_params else REDACTED,
            "executemany": executemany,
            "rowcount": getattr(cursor, "rowcount", None),
            "db_type": self.db_type,
        }
        if slow:
            fields["slow_ms"] = self.slow_ms
            logger.warning("db.slow_query %s", _render(fields), extra={"repo_db": fields})
        else:
            logger.debug("db.query %s", _render(fields), extra={"repo_db": fields})


def _render(fields: dict[str, Any]) -> str:
    return " ".join(
        f"{key}={value!r}" if key == "statement" else f"{key}={value}"
        for key, value in fields.items()
    )


def install_query_logging(
    engine: Engine,
    *,
    slow_ms: float = DEFAULT_SLOW_QUERY_MS,
    log_all: bool = False,
    log_params: bool = False,
) -> None:
    """Log slow statements at warning (and every statement at debug when ``log_all``).

    Idempotent per engine: a second call replaces the thresholds instead of doubling the logs.
    """
    existing: _QueryLogger | None = getattr(engine, _INSTALLED_ATTR, None)
    if existing is not None:
        existing.slow_ms, existing.log_all, existing.log_params = slow_ms, log_all, log_params
        return
    handler = _QueryLogger(
        slow_ms=slow_ms, log_all=log_all, log_params=log_params, db_type=engine.dialect.name
    )
    event.listen(engine, "before_cursor_execute", handler.before)
    event.listen(engine, "after_cursor_execute", handler.after)
    setattr(engine, _INSTALLED_ATTR, handler)


def uninstall_query_logging(engine: Engine) -> None:
    handler: _QueryLogger | None = getattr(engine, _INSTALLED_ATTR, None)
    if handler is None:
        return
    event.remove(engine, "before_cursor_execute", handler.before)
    event.remove(engine, "after_cursor_execute", handler.after)
    delattr(engine, _INSTALLED_ATTR)


__all__ = ["REDACTED", "install_query_logging", "uninstall_query_logging"]
