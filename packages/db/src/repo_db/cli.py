"""``repo-db``: migrations, tables, seeding and health from the command line.

Every failure is one line on stderr (``error: ...``, with the fix where there is one) and a
non-zero exit code; ``--debug`` shows the traceback instead. Exit codes: 0 ok, 1 database,
query or migration error, 2 usage, 3 database unavailable / health down, 4 configuration error,
5 refused (production without the confirmation flag), 6 health degraded (migrations pending).

``seed``, ``drop-tables`` and ``migrate down`` refuse to touch a production database unless
``--i-understand-this-is-production`` is given. A database is production when the environment
says so (``APP_ENV``/``NODE_ENV`` = ``production`` or ``staging``) or when the target is a
PostgreSQL server on another machine (``--url`` included): a remote server is assumed to hold
real data.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import sys
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from repo_db import migrate
from repo_db._engine import build_engine
from repo_db._errors import ConfigError, DatabaseUnavailableError, RepoDbError
from repo_db._query_log import install_query_logging
from repo_db.config import db_type_of, get_settings, normalize_url, redact, url_hosts

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_CONFIG = 4
EXIT_REFUSED = 5
EXIT_DEGRADED = 6

PRODUCTION_FLAG = "--i-understand-this-is-production"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="repo-db",
    help="Database tasks for the assessment platform (uses DATABASE_URL / NEON_DATABASE_URL).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
migrate_app = typer.Typer(help="Alembic migrations shipped inside repo_db.", no_args_is_help=True)
app.add_typer(migrate_app, name="migrate")

P = ParamSpec("P")
R = TypeVar("R")
_state: dict[str, Any] = {"url": None, "debug": False, "verbose": False}

ProductionOption = Annotated[
    bool,
    typer.Option(
        PRODUCTION_FLAG,
        help="Required to run this command against a production database.",
    ),
]


def _fail(message: str, code: int) -> typer.Exit:
    # One line, never interpreted as markup (constraint names come in [brackets]).
    line = " ".join(message.split())
    err_console.print(
        f"[bold red]error:[/bold red] {escape(line)}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code)


def _exit_code(exc: RepoDbError) -> int:
    if isinstance(exc, ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, DatabaseUnavailableError):
        return EXIT_UNAVAILABLE
    return EXIT_ERROR


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Any exception becomes one line on stderr and an exit code (a traceback with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if _state["debug"]:
                raise
            if isinstance(exc, RepoDbError):
                raise _fail(str(exc), _exit_code(exc)) from None
            first = (str(exc).splitlines() or [""])[0]
            raise _fail(
                f"unexpected {type(exc).__name__}: {first} (run with --debug for the traceback)",
                EXIT_ERROR,
            ) from None

    return wrapper


def _target_url(*, direct: bool = True) -> URL:
    """``--url``, else the configured URL: the direct one for admin tasks (never PgBouncer)."""
    url = _state["url"]
    if url:
        return normalize_url(url, variable="--url")
    settings = get_settings()
    return settings.direct_url if direct else settings.url


def _engine(*, direct: bool = True) -> Engine:
    """A throwaway (NullPool) engine on the target; --verbose logs every statement."""
    engine = build_engine(_target_url(direct=direct), throwaway=True)
    if _state["verbose"]:
        install_query_logging(engine, slow_ms=get_settings().db_slow_query_ms, log_all=True)
    return engine


def _is_remote_postgres(url: URL) -> bool:
    if db_type_of(url) != "postgresql":
        return False
    # No host: a local Unix socket. A multi-host URL is remote if any of its hosts is.
    return any(_is_remote_host(host) for host in url_hosts(url))


def _is_remote_host(address: str) -> bool:
    # A ?host= entry may carry its port: "db:5432", "[::1]:5432".
    if address.startswith("["):
        host = address[1 : address.find("]")]
    else:
        host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
    host = host.lower()
    if host in _LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name other than localhost


def _refuse_in_production(action: str, confirmed: bool) -> None:
    """Stop ``action`` on a production database unless the flag was given."""
    if confirmed:
        return
    settings = get_settings()
    url = _target_url()
    if settings.is_production:
        why = f"the environment is {settings.environment}"
    elif _is_remote_postgres(url):
        why = (
            f"the target is a PostgreSQL server on another machine ({' '.join(url_hosts(url))}), "
            "treated as production even though the environment is not"
        )
    else:
        return
    raise _fail(
        f"refusing to {action}: {why}. Add {PRODUCTION_FLAG} if this is really intended",
        EXIT_REFUSED,
    )


def _require_head(engine: Engine) -> None:
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current is None:
        raise _fail("the database has no tables yet: run `repo-db migrate up` first", EXIT_ERROR)
    if current != head:
        raise _fail(
            f"the database is at migration {current}, this code expects {head}: "
            "run `repo-db migrate up` first",
            EXIT_ERROR,
        )


@app.callback()
@handle_errors
def _main(
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="Database URL (overrides DATABASE_URL etc.).", show_default=False
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every SQL statement.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of a failure.")
    ] = False,
) -> None:
    _state.update(url=url, verbose=verbose, debug=debug)
    # The CLI is an application: it decides where repo_db's log records go (stderr).
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("repo_db").setLevel(logging.DEBUG if verbose else logging.WARNING)
    get_settings()  # an unknown APP_ENV or a malformed variable stops here, with its name


@migrate_app.command("up")
@handle_errors
def migrate_up(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: head), via the direct (non-pooled) URL."""
    engine = _engine()
    migrate.upgrade(engine, revision)
    console.print(f"[green]database at[/green] {migrate.current_revision(engine)}")


@migrate_app.command("down")
@handle_errors
def migrate_down(
    revision: Annotated[str, typer.Argument(help="Target revision, -1 = one step.")] = "-1",
    production: ProductionOption = False,
) -> None:
    """Revert migrations down to REVISION (default: one step). Refused in production."""
    _refuse_in_production("revert migrations", production)
    engine = _engine()
    if migrate.current_revision(engine) is None:
        raise _fail("nothing to revert: the database has no migration applied", EXIT_ERROR)
    migrate.downgrade(engine, revision)
    console.print(f"[yellow]database at[/yellow] {migrate.current_revision(engine) or '(empty)'}")


@migrate_app.command("status")
@handle_errors
def migrate_status() -> None:
    """Show the database revision and whether it is at head (exit 6 if not)."""
    current, head = migrate.current_revision(_engine()), migrate.head_revision()
    console.print(f"current: {current or '(empty)'}  head: {head}")
    if current != head:
        console.print("[yellow]migrations pending: run `repo-db migrate up`[/yellow]")
        raise typer.Exit(EXIT_DEGRADED)
    console.print("[green]up to date[/green]")


@migrate_app.command("history")
@handle_errors
def migrate_history() -> None:
    """List the revisions shipped with the package, oldest first."""
    table = RichTable("revision", "down", "message")
    for info in migrate.history():
        table.add_row(info.revision, info.down_revision or "-", info.message)
    console.print(table)


@migrate_app.command("new")
@handle_errors
def migrate_new(
    message: Annotated[str, typer.Argument(help="What the migration does.")],
    empty: Annotated[bool, typer.Option("--empty", help="Do not autogenerate.")] = False,
) -> None:
    """Write a new revision into repo_db/migrations/versions (autogenerated from the models)."""
    paths = migrate.new_revision(message, _engine(), autogenerate=not empty)
    for path in paths:
        console.print(f"[green]created[/green] {path}  (review it before committing)")


@app.command("create-tables")
@handle_errors
def create_tables_cmd() -> None:
    """Create missing tables from the models (dev/tests; production uses `migrate up`)."""
    from repo_db._schema import create_tables

    engine = _engine()
    create_tables(engine)
    console.print(f"[green]tables ready on[/green] {redact(engine.url)}")


@app.command("drop-tables")
@handle_errors
def drop_tables_cmd(production: ProductionOption = False) -> None:
    """Drop every table (refused in production)."""
    from repo_db._schema import drop_tables

    _refuse_in_production("drop every table", production)
    engine = _engine()
    drop_tables(engine)
    console.print(f"[yellow]tables dropped on[/yellow] {redact(engine.url)}")


@app.command("seed")
@handle_errors
def seed_cmd(
    users: Annotated[
        int | None,
        typer.Option("--users", min=1, help="Bulk mode: N users plus attempts in proportion."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per batch (bulk mode).")] = 5_000,
    production: ProductionOption = False,
) -> None:
    """Insert the demo accounts/assessments, or with --users N a bulk load-test data set.

    Refused in production: the demo accounts have a published password.
    """
    _refuse_in_production("seed demo data", production)
    engine = _engine()
    _require_head(engine)
    if users is None:
        from repo_db.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo

        summary = seed_demo(engine)
        console.print(f"[green]demo data ready[/green] ({summary})")
        for email, _name, role in DEMO_USERS:
            console.print(f"  {role:8} {email} / {DEMO_PASSWORD}")
        return
    from repo_db.bulk_seed import BulkPlan, bulk_seed

    plan = BulkPlan.for_users(users)
    with Progress(
        TextColumn("{task.description:>15}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks = {
            name: progress.add_task(name, total=total) for name, total in plan.totals().items()
        }
        result = bulk_seed(
            users,
            engine,
            batch_size=batch_size,
            progress=lambda table, n: progress.advance(tasks[table], n),
        )
        for name, task in tasks.items():  # skipped (already present) rows count as done
            progress.update(task, completed=plan.totals()[name])
    console.print(f"[green]created[/green] {result.created}")


@app.command("health")
@handle_errors
def health_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check connectivity and migrations: exit 0 ok, 6 degraded, 3 down."""
    from repo_db._engine import dispose_engines
    from repo_db._health import check_health

    engine = _engine(direct=False)  # what the apps use
    try:
        report = check_health(engine, replica=True)
    finally:
        engine.dispose()
        dispose_engines()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str))
    else:
        color = {"ok": "green", "degraded": "yellow", "down": "red"}[report.status]
        console.print(f"[{color}]{report.status}[/{color}] {report.db_type} {report.url}")
        console.print(
            f"latency_ms={report.latency_ms} revision={report.current_revision} "
            f"head={report.head_revision} pool={report.pool}"
        )
        replica = report.replica
        if replica.get("state") != "not_configured":
            console.print(
                f"replica={replica['state']} lag_seconds={replica.get('lag_seconds')} "
                f"url={replica.get('url')}"
                + (f" error={escape(str(replica['error']))}" if replica.get("error") else "")
            )
        if report.error:
            err_console.print(
                f"[bold red]error:[/bold red] {escape(report.error)}",
                highlight=False,
                soft_wrap=True,
            )
    raise typer.Exit(
        {"ok": EXIT_OK, "degraded": EXIT_DEGRADED, "down": EXIT_UNAVAILABLE}[report.status]
    )


def main() -> None:
    """Console-script entry point (``repo-db = repo_db.cli:main``)."""
    app()


if __name__ == "__main__":
    main()
