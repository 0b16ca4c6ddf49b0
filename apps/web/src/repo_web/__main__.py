"""`python -m repo_web`: serve the web UI with uvicorn."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import uvicorn

import repo_db
from repo_db.config import start_or_exit
from repo_observability import configure_logging, uvicorn_log_config
from repo_web.app import create_app
from repo_web.config import get_settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
# A page must answer quickly even when the database is down: the 503 page with Retry-After
# after about 2 s, not after repo_db's defaults (10 s connect timeout, 5 retries with backoff).
# Explicit environment settings still win.
WEB_DB_DEFAULTS = {"DB_CONNECT_TIMEOUT": "2", "DB_CONNECT_RETRIES": "0", "DB_POOL_TIMEOUT": "5"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m repo_web",
        description="Serve the server-rendered web UI. The database comes from repo_db's "
        "environment (DATABASE_URL, NEON_DATABASE_URL in production, else SQLITE_PATH).",
    )
    parser.add_argument("--host", default=os.environ.get("WEB_HOST", DEFAULT_HOST))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", DEFAULT_PORT)))
    args = parser.parse_args(argv)
    for name, value in WEB_DB_DEFAULTS.items():
        os.environ.setdefault(name, value)
    # Unknown environment, SQLite in production, production without Redis or without
    # WEB_DEVICE_COOKIE_SECRET: one line, exit 2.
    start_or_exit(
        get_settings,
        lambda: get_settings().throttle_storage_uri,
        lambda: get_settings().device_cookie_key,
    )
    settings = get_settings()
    try:
        # Every log line (uvicorn's and repo_db's too) through repo_observability: JSON lines
        # in production, secrets redacted, tracebacks without local variables.
        configure_logging(level=settings.log_level, json_logs=settings.json_logs)
        app = create_app(settings=settings)
    except repo_db.ConfigError as exc:
        parser.exit(2, f"error: {exc}\n")
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        # X-Forwarded-For/-Proto only from FORWARDED_ALLOW_IPS (default: nobody), so a client
        # cannot choose the address the throttle counts by sending the header itself.
        proxy_headers=settings.trusts_proxy,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level=settings.log_level,
        # uvicorn's lines through the same set-up (the same as the API's launcher).
        log_config=uvicorn_log_config(level=settings.log_level, json_logs=settings.json_logs),
        access_log=False,  # repo_http's access line (with the request id) replaces uvicorn's
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
