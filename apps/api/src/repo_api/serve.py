"""`python -m repo_api`: prepare the database, then serve the API with uvicorn.

Development (default): SQLite from repo_db's settings, migrations applied, demo data seeded into
an empty database, one worker. Production (APP_ENV, else NODE_ENV, is production or staging):
PostgreSQL from repo_db's env vars, several worker processes, no auto-seed, migrations only with
--migrate.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import structlog
import uvicorn

from repo_api.config import ApiSettings, get_settings
from repo_db import ConfigError
from repo_db.config import start_or_exit
from repo_observability import configure_logging, uvicorn_log_config

logger = structlog.get_logger("repo_api.serve")

DEMO_ACCOUNTS = ("admin@example.com", "author@example.com", "learner@example.com")
DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo credential, dev databases only


def build_parser(settings: ApiSettings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m repo_api",
        description=(
            "Serve the assessment platform HTTP API (no auto-reload). The database comes from "
            "repo_db's environment: DATABASE_URL, or NEON_DATABASE_URL in production, else "
            "SQLite at SQLITE_PATH (default ./dev.sqlite3)."
        ),
        epilog=(
            "Environment: API_HOST, API_PORT, API_WORKERS, API_TOKEN_TTL_SECONDS, "
            "API_CORS_ORIGINS (comma-separated), API_LOG_LEVEL, API_MAX_BODY_BYTES, "
            "API_DOCS_ENABLED, REDIS_URL or API_RATE_LIMIT_STORAGE (throttling), "
            "APP_ENV (else NODE_ENV): development, test, staging or production."
        ),
    )
    parser.add_argument("--host", default=settings.host, help="bind address (%(default)s)")
    parser.add_argument("--port", type=int, default=settings.port, help="port (%(default)s)")
    parser.add_argument(
        "--workers",
        type=int,
        default=settings.effective_workers,
        help="uvicorn worker processes (%(default)s; production default: one per core, min 2)",
    )
    parser.add_argument("--log-level", default=settings.log_level, help="(%(default)s)")
    parser.add_argument(
        "--migrate",
        action=argparse.BooleanOptionalAction,
        default=not settings.is_production,
        help="apply migrations to head before serving (default: on, off in production)",
    )
    parser.add_argument(
        "--seed",
        action=argparse.BooleanOptionalAction,
        default=not settings.is_production,
        help="seed demo accounts and assessments into an EMPTY database (default: on; refused "
        "in production)",
    )
    return parser


def prepare_database(*, migrate: bool, seed: bool) -> None:
    """Runs in the parent process, before any worker starts, so workers never race on DDL."""
    from repo_db import dispose_engines, get_engine, unit_of_work
    from repo_domain.accounts import has_users

    engine = get_engine()
    if migrate:
        from repo_db.migrate import upgrade

        upgrade(engine)
        logger.info("db.migrated", revision="head")
    if seed:
        with unit_of_work(read_only=True, bind=engine) as session:
            empty = not has_users(session)
        if empty:
            from repo_db.seed import seed_demo

            seed_demo(engine)
            logger.info(
                "db.seeded_demo_data",
                accounts=", ".join(DEMO_ACCOUNTS),
                password=DEMO_PASSWORD,
            )
    # Workers are fresh processes with their own pools; drop the parent's connections.
    dispose_engines()


SEED_REFUSED = (
    "refusing --seed in production: the demo accounts have a published password. Create real "
    "accounts instead (register, then grant roles as an admin)."
)


def main(argv: Sequence[str] | None = None) -> int:
    # Unknown environment, SQLite in production, production without Redis or without
    # API_DEVICE_COOKIE_SECRET: one line, exit 2.
    start_or_exit(
        get_settings,
        lambda: get_settings().throttle_storage_uri,
        lambda: get_settings().device_cookie_key,
    )
    settings = get_settings()
    args = build_parser(settings).parse_args(argv)
    configure_logging(level=args.log_level, json_logs=settings.json_logs)
    try:
        if args.seed and settings.is_production:
            logger.error("api.seed_refused", reason=SEED_REFUSED)
            print(f"error: {SEED_REFUSED}", file=sys.stderr)
            return 2
        prepare_database(migrate=args.migrate, seed=args.seed)
    except ConfigError as exc:  # e.g. a pooled URL without DATABASE_DIRECT_URL: no traceback
        logger.error("api.config_error", error=str(exc))
        return 2
    # Worker processes build their own settings from the environment: hand the CLI choices over.
    os.environ["API_LOG_LEVEL"] = args.log_level
    logger.info(
        "api.starting",
        url=f"http://{args.host}:{args.port}",
        workers=args.workers,
        environment=settings.environment,
        docs=f"http://{args.host}:{args.port}/docs",
    )
    uvicorn.run(
        "repo_api.app:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=False,
        log_level=args.log_level,
        # Every process (this one and each worker) logs through repo_observability: JSON lines
        # in production, secrets redacted, tracebacks without local variables.
        log_config=uvicorn_log_config(level=args.log_level, json_logs=settings.json_logs),
        access_log=False,  # RequestContextMiddleware logs every request with its id
        # X-Forwarded-For/-Proto only from FORWARDED_ALLOW_IPS (default: nobody), so a client
        # cannot choose the address the throttle counts by sending the header itself.
        proxy_headers=settings.trusts_proxy,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=10,
    )
    return 0
