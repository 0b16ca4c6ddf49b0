"""``repo-db``: migrations, tables, seeding and health from the command line.

Errors are one red line on stderr (no traceback) and a meaningful exit code:
0 ok, 1 database/query error, 2 usage, 3 database unavailable / health down,
4 configuration error, 5 aborted by the user, 6 health degraded (migrations pending).
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import structlog
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from sqlalchemy import Engine

from repo_db import migrate
from repo_db._engine import build_engine
from repo_db.config import get_settings, normalize_url, redact
from repo_db.errors import ConfigError, DatabaseUnavailableError, RepoDbError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_CONFIG = 4
EXIT_ABORTED = 5
EXIT_DEGRADED = 6

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
_state: dict[str, Any] = {"url": None}

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn repo_db exceptions into one red line and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            raise _fail(str(exc), EXIT_CONFIG) from None
        except DatabaseUnavailableError as exc:
            raise _fail(str(exc), EXIT_UNAVAILABLE) from None
        except RepoDbError as exc:
            raise _fail(str(exc), EXIT_ERROR) from None

    return wrapper


def _target_url() -> Any:
    url = _state["url"]
    return normalize_url(url, variable="--url") if url else None


def _engine(*, direct: bool = False) -> Engine:
    """A throwaway (NullPool) engine on --url, or the configured (direct, for DDL) URL."""
    url = _target_url()
    if url is None:
        settings = get_settings()
        url = settings.direct_url if direct else settings.url
    return build_engine(url, throwaway=True)


def _is_production() -> bool:
    return _state["url"] is None and get_settings().is_production


def _confirm_destructive(action: str, yes: bool) -> None:
    if yes or not _is_production():
        return
    if not typer.confirm(f"{action} on the PRODUCTION database. Continue?", default=False):
        raise _fail("aborted", EXIT_ABORTED)


@app.callback()
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
) -> None:
    _state["url"] = url
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if verbose else logging.WARNING
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


@migrate_app.command("up")
@handle_errors
def migrate_up(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: head), via the direct (non-pooled) URL."""
    migrate.upgrade(_target_url(), revision)
    console.print(f"[green]database at[/green] {migrate.current_revision(_target_url())}")


@migrate_app.command("down")
@handle_errors
def migrate_down(
    revision: Annotated[str, typer.Argument(help="Target revision, -1 = one step.")] = "-1",
    yes: YesOption = False,
) -> None:
    """Revert migrations down to REVISION (default: one step). Asks first in production."""
    _confirm_destructive(f"Downgrading to {revision}", yes)
    migrate.downgrade(_target_url(), revision)
    console.print(f"[yellow]database at[/yellow] {migrate.current_revision(_target_url())}")


@migrate_app.command("status")
@handle_errors
def migrate_status() -> None:
    """Show the database revision and whether it is at head (exit 6 if not)."""
    current, head = migrate.current_revision(_target_url()), migrate.head_revision()
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
    paths = migrate.new_revision(message, _target_url(), autogenerate=not empty)
    for path in paths:
        console.print(f"[green]created[/green] {path}  (review it before committing)")


@app.command("create-tables")
@handle_errors
def create_tables_cmd() -> None:
    """Create missing tables from the models (dev/tests; production uses `migrate up`)."""
    from repo_db.schema import create_tables

    engine = _engine(direct=True)
    create_tables(engine)
    console.print(f"[green]tables ready on[/green] {redact(engine.url)}")


@app.command("drop-tables")
@handle_errors
def drop_tables_cmd(yes: YesOption = False) -> None:
    """Drop every table (asks first in production)."""
    from repo_db.schema import drop_tables

    _confirm_destructive("Dropping ALL tables", yes)
    engine = _engine(direct=True)
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
) -> None:
    """Insert the demo accounts/assessments, or with --users N a bulk load-test data set."""
    engine = _engine(direct=users is not None)
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
def health_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check connectivity and migrations: exit 0 ok, 6 degraded, 3 down."""
    from repo_db.health import check_health

    try:
        engine = _engine()
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    try:
        report = check_health(engine)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str))
    else:
        color = {"ok": "green", "degraded": "yellow", "down": "red"}[report.status]
        console.print(f"[{color}]{report.status}[/{color}] {report.db_type} {report.url}")
        console.print(
            f"latency_ms={report.latency_ms} revision={report.current_revision} "
            f"head={report.head_revision} pool={report.pool}"
        )
        if report.error:
            err_console.print(f"[bold red]error:[/bold red] {report.error}", highlight=False)
    raise typer.Exit(
        {"ok": EXIT_OK, "degraded": EXIT_DEGRADED, "down": EXIT_UNAVAILABLE}[report.status]
    )


def main() -> None:
    """Console-script entry point (``repo-db = repo_db.cli:main``)."""
    app()


if __name__ == "__main__":
    main()
