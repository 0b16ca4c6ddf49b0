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

__all__ = [
    "REDACTED",
    "configure_logging",
    "redact",
    "redact_secrets",
    "uvicorn_log_config",
]

_HANDLER_NAME = "repo_observability"


def configure_logging(*, level: str = "info", json_logs: bool = False) -> logging.Handler:
    """Route structlog and the standard library's logging to stderr at ``level``.

    An unknown level name falls back to ``info``. Alembic's per-plugin start-up line is silenced.
    Calling it again replaces the previous set-up (its root handler included). Returns the root
    handler it installed.
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
    return handler


def uvicorn_log_config(*, level: str = "info", json_logs: bool = False) -> dict[str, Any]:
    """uvicorn's ``log_config`` for both serving apps: every line through `configure_logging`.

    uvicorn applies its ``log_config`` (a `logging.config.dictConfig` dictionary) in its own
    process AND in every worker process it spawns (``--workers``), where nothing of the parent's
    logging set-up survives. Its default gives its loggers their own plain-text handlers, so the
    API's workers wrote uvicorn's lines (start-up, "Invalid HTTP request", "Exception in ASGI
    application" with a traceback) outside the JSON lines and the redaction. This configuration
    runs `configure_logging` in each process (the handler factory) and sends uvicorn's loggers to
    its root handler; uvicorn's access log stays off (repo_http's access line replaces it).
    """
    upper = level.upper() if isinstance(logging.getLevelName(level.upper()), int) else "INFO"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            _HANDLER_NAME: {
                "()": "repo_observability._configured_handler",
                "level": upper,
                "log_level": level,
                "json_logs": json_logs,
            }
        },
        "root": {"handlers": [_HANDLER_NAME], "level": upper},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": upper},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": upper},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


def _configured_handler(*, log_level: str, json_logs: bool) -> logging.Handler:
    """`uvicorn_log_config`'s handler factory: the whole set-up, then its root handler."""
    return configure_logging(level=log_level, json_logs=json_logs)
