"""Logging set-up shared by the platform's processes (the API, the web UI, the AI worker and its
CLI).

One definition, so that every process writes the same lines to stderr: JSON lines in production
(one object per line, for the log collector), readable console lines in development. Both
structlog's loggers and the standard library's (uvicorn, SQLAlchemy, alembic) go through the same
processors, so in both modes:

- a traceback is the plain text of the exception chain, never its local variables (structlog's
  default, with `rich` installed, prints every frame's locals: a sign-up's password, a password
  hash, a CSRF token);
- values under secret-looking keys (password, token, cookie, authorization, csrf, hash, session,
  secret, ...) are replaced by `[redacted]` (`repo_observability.redaction`).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from repo_observability.redaction import REDACTED, redact, redact_secrets

__all__ = ["REDACTED", "configure_logging", "redact", "redact_secrets"]

_HANDLER_NAME = "repo_observability"


def configure_logging(*, level: str = "info", json_logs: bool = False) -> None:
    """Route structlog and the standard library's logging to stderr at ``level``.

    An unknown level name falls back to ``info``. Alembic's per-plugin start-up line is silenced.
    Calling it again replaces the previous set-up (its root handler included).
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_logs
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    # One sink: structlog's events go through the standard library's logging to the one root
    # handler below, where uvicorn's, SQLAlchemy's and alembic's records end up too. (A logger
    # cached on first use then keeps working when a later call replaces the handler.)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # "setup plugin ..."
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,  # while the exception is the current one
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
