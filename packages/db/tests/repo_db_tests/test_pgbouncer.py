"""repo_db through a real PgBouncer in transaction mode (what Neon's pooled endpoint runs).

``REPO_DB_TEST_PGBOUNCER_URL`` names the pooler (``tools/pgbouncer/start`` prints it; ``.ci/run``
starts one and sets it). Set but unreachable: every test here FAILS. Unset: they are skipped
(a developer machine without PgBouncer).

The application URL is declared pooled (``DATABASE_POOLED=true``, a loopback host has no
``-pooler`` in its name) and ``DATABASE_DIRECT_URL`` points at the server itself. PgBouncer's
own counters (``SHOW STATS`` on its admin console) tell which traffic went through it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

import repo_db
from repo_db import (
    ConfigError,
    DatabaseUnavailableError,
    DuplicateError,
    RepoDbError,
    migrate,
    unit_of_work,
)
from repo_db._engine import (
    build_engine,
    dispose_engines,
    engine_options,
    get_direct_engine,
    get_engine,
)
from repo_db.bulk_seed import bulk_seed
from repo_db.config import (
    DbSettings,
    connectable_url,
    get_settings,
    is_pooler_url,
    normalize_url,
)
from repo_db.models import User
from repo_db.testing import PostgresDatabase, admin_postgres_url

PGBOUNCER_ENV = "REPO_DB_TEST_PGBOUNCER_URL"
THREADS = 8  # more clients than tools/pgbouncer/start's 4 server connections per database
UNITS_PER_THREAD = 15  # > psycopg's prepare_threshold (5): statements would get prepared

needs_pgbouncer = pytest.mark.skipif(
    not os.environ.get(PGBOUNCER_ENV),
    reason=f"{PGBOUNCER_ENV} not set (tools/pgbouncer/start prints a value; CI sets it)",
)


def test_declared_pooled_url_needs_a_direct_url_and_disables_prepared_statements() -> None:
    declared = DbSettings(
        database_url="postgresql://app@127.0.0.1:6432/app",
        database_pooled=True,
        database_direct_url=None,
        neon_database_direct_url=None,
        node_env="test",
    )
    assert is_pooler_url(declared.url)
    assert engine_options(declared.url, declared)["connect_args"]["prepare_threshold"] is None
    assert "pgbouncer" not in connectable_url(declared.url).query  # never sent to the driver
    with pytest.raises(ConfigError, match="DATABASE_DIRECT_URL"):
        _ = declared.direct_url
    by_query = DbSettings(
        database_url="postgresql://app@127.0.0.1:6432/app?pgbouncer=true",
        database_direct_url="postgresql://app@127.0.0.1:5432/app",
        node_env="test",
    )
    assert is_pooler_url(by_query.url)
    assert by_query.direct_url.port == 5432 and not is_pooler_url(by_query.direct_url)
    neon = DbSettings(
        database_url="postgresql://a@ep-x-pooler.eu.aws.neon.tech/db?sslmode=require",
        database_pooled=True,
        node_env="test",
    )
    assert neon.direct_url.host == "ep-x.eu.aws.neon.tech"
    assert dict(neon.direct_url.query) == {"sslmode": "require"}
    plain = DbSettings(database_url="postgresql://app@127.0.0.1:5432/app", node_env="test")
    assert not is_pooler_url(plain.url) and plain.direct_url == plain.url


def found(row: dict[str, Any] | None) -> dict[str, Any]:
    assert row is not None
    return row


def pooler_admin_url() -> URL:
    return normalize_url(os.environ[PGBOUNCER_ENV], variable=PGBOUNCER_ENV)


def pooler_transactions(database: str) -> int:
    """Transactions PgBouncer has passed to ``database`` so far (its SHOW STATS counter)."""
    url = pooler_admin_url()
    conninfo = f"host={url.host} port={url.port or 6432} user={url.username} dbname=pgbouncer"
    # The admin console speaks the simple query protocol only: ClientCursor sends it.
    with psycopg.connect(conninfo, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        rows = conn.execute("SHOW STATS").fetchall()
        names = [c.name for c in conn.execute("SHOW STATS").description or []]
    for row in rows:
        stats = dict(zip(names, row, strict=True))
        if stats["database"] == database:
            return int(stats["total_xact_count"])
    return 0


@pytest.fixture(scope="module")
def pooled() -> Iterator[dict[str, Any]]:
    """A new database; the process settings point at it pooled (app) and direct (DDL, COPY)."""
    try:
        pooler_transactions("postgres")
    except psycopg.Error as exc:
        pytest.fail(
            f"{PGBOUNCER_ENV}={os.environ[PGBOUNCER_ENV]} is set but PgBouncer does not answer "
            f"({str(exc).strip().splitlines()[0]}). Start it: tools/pgbouncer/start",
            pytrace=False,
        )
    database = PostgresDatabase(admin_postgres_url())
    database.create()
    pooled_url = pooler_admin_url().set(database=database.name)
    env = {
        "DATABASE_URL": pooled_url.render_as_string(hide_password=False),
        "DATABASE_POOLED": "true",
        "DATABASE_DIRECT_URL": database.url.render_as_string(hide_password=False),
        "DB_POOL_SIZE": "4",
        "DB_MAX_OVERFLOW": str(THREADS),
        "DB_LOG_QUERIES": "false",
        "DB_CONNECT_RETRIES": "0",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    get_settings.cache_clear()
    dispose_engines()
    try:
        yield {"name": database.name, "pooled": pooled_url, "direct": database.url}
    finally:
        dispose_engines()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        database.drop()


@pytest.fixture(scope="module")
def migrated(pooled: dict[str, Any]) -> dict[str, Any]:
    before = pooler_transactions(pooled["name"])
    migrate.upgrade()  # no target: the configured DIRECT url
    pooled["migrations_through_pooler"] = pooler_transactions(pooled["name"]) - before
    return pooled


@needs_pgbouncer
def test_settings_split_pooled_and_direct(pooled: dict[str, Any]) -> None:
    settings = get_settings()
    assert is_pooler_url(settings.url)
    assert settings.url.port == pooled["pooled"].port
    assert settings.direct_url.port == pooled["direct"].port
    assert not is_pooler_url(settings.direct_url)
    assert engine_options(settings.url, settings)["connect_args"]["prepare_threshold"] is None
    assert "prepare_threshold" not in engine_options(settings.direct_url, settings)["connect_args"]


@needs_pgbouncer
def test_migrations_run_on_the_direct_url(migrated: dict[str, Any]) -> None:
    assert migrated["migrations_through_pooler"] == 0
    assert migrate.current_revision() == migrate.head_revision()
    # ...and the schema is there for the application through the pooler.
    assert repo_db.count("users") == 0


@needs_pgbouncer
def test_crud_helpers_and_unit_of_work_through_the_pooler(migrated: dict[str, Any]) -> None:
    before = pooler_transactions(migrated["name"])
    for i in range(UNITS_PER_THREAD):
        row = repo_db.create(
            "users", {"email": f"crud{i}@pgb.example", "password_hash": "x", "display_name": "P"}
        )
        assert found(repo_db.find_by_id("users", row["id"]))["email"] == f"crud{i}@pgb.example"
        assert found(repo_db.find_by("users", "email", f"crud{i}@pgb.example"))["id"] == row["id"]
        updated = repo_db.update("users", row["id"], {"display_name": f"Q{i}"})
        assert found(updated)["display_name"] == f"Q{i}"
        repo_db.upsert(
            "users",
            {"email": f"crud{i}@pgb.example", "password_hash": "y", "display_name": "U"},
            conflict=["email"],
        )
    assert repo_db.count("users", {"display_name": "U"}) == UNITS_PER_THREAD
    # A unit of work commits as one transaction, and rolls back as one.
    with unit_of_work() as session:
        session.add(User(email="uow@pgb.example", password_hash="x", display_name="W"))
        repo_db.create(
            "users", {"email": "uow2@pgb.example", "password_hash": "x", "display_name": "W"}
        )
    with pytest.raises(DuplicateError), unit_of_work() as session:
        session.add(User(email="gone@pgb.example", password_hash="x", display_name="G"))
        repo_db.create(
            "users", {"email": "uow@pgb.example", "password_hash": "x", "display_name": "dup"}
        )
    assert repo_db.find_by("users", "email", "gone@pgb.example") is None
    assert repo_db.count("users", {"display_name": "W"}) == 2
    assert repo_db.delete(
        "users", found(repo_db.find_by("users", "email", "uow2@pgb.example"))["id"]
    )
    # The traffic went through PgBouncer (not silently to the server).
    assert pooler_transactions(migrated["name"]) - before >= 5 * UNITS_PER_THREAD


def run_concurrent_units(engine: Engine | None, tag: str) -> list[BaseException]:
    """THREADS threads x UNITS_PER_THREAD units (insert + reads), each its own transaction."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(t: int) -> None:
        start.wait()
        for i in range(UNITS_PER_THREAD):
            try:
                with unit_of_work(bind=engine) as session:
                    session.add(
                        User(
                            email=f"{tag}-{t}-{i}@pgb.example", password_hash="x", display_name=tag
                        )
                    )
                    session.flush()
                    session.execute(select(User.id).where(User.email == f"{tag}-{t}-0@pgb.example"))
                    session.execute(select(func.count()).select_from(User))
            except (RepoDbError, psycopg.Error) as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@needs_pgbouncer
def test_concurrent_units_through_the_pooler(migrated: dict[str, Any]) -> None:
    errors = run_concurrent_units(None, "conc")
    assert errors == []
    assert repo_db.count("users", {"display_name": "conc"}) == THREADS * UNITS_PER_THREAD


@needs_pgbouncer
def test_without_prepare_threshold_none_the_same_workload_fails(migrated: dict[str, Any]) -> None:
    """The control: psycopg's default server-side prepared statements break under PgBouncer."""
    engine = create_engine(
        connectable_url(migrated["pooled"]),
        pool_size=THREADS,
        connect_args={"connect_timeout": 5},  # psycopg default: prepare after 5 executions
    )
    try:
        errors = run_concurrent_units(engine, "prep")
    finally:
        engine.dispose()
    messages = " | ".join(str(e) for e in errors)
    assert errors, "expected prepared-statement errors through PgBouncer without the setting"
    assert "prepared statement" in messages, messages[:2000]


@needs_pgbouncer
def test_bulk_seed_copies_on_the_direct_url(migrated: dict[str, Any]) -> None:
    assert get_direct_engine() is get_engine(get_settings().direct_url)
    before = pooler_transactions(migrated["name"])
    summary = bulk_seed(40)  # no engine: repo_db picks the direct URL for COPY
    assert pooler_transactions(migrated["name"]) == before
    assert summary.created["users"] == 40
    with unit_of_work(read_only=True) as session:
        seeded = session.execute(
            text("SELECT count(*) FROM users WHERE email LIKE '%@seed.example.com'")
        ).scalar_one()
    assert seeded == 40


PGBOUNCER_SCRIPTS = Path("tools/pgbouncer")  # a `files` dependency: relative to the sandbox root
OUTAGE_S = 1.5
FAIL_FAST_BOUND_S = 5.0


def _pgbouncer(action: str, *args: str) -> None:
    proc = subprocess.run(
        ["bash", str(PGBOUNCER_SCRIPTS / action), *args], capture_output=True, text=True
    )
    assert proc.returncode == 0, f"tools/pgbouncer/{action} failed: {proc.stderr}"


@needs_pgbouncer
def test_writes_survive_a_pgbouncer_restart_under_load(migrated: dict[str, Any]) -> None:
    """Fault: PgBouncer goes away for OUTAGE_S under a write load, then comes back.

    Invariants: every acknowledged write is stored exactly once; every failure is a clean
    DatabaseUnavailableError that came back within FAIL_FAST_BOUND_S (no hang); writes succeed
    again after the restart on the same engine (no manual restart of the application).
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Not pytest's tmp_path: PgBouncer runs as the postgres user, which cannot enter it.
    workdir = Path(tempfile.mkdtemp(prefix="repo-pgbouncer-fault-"))
    where = ["--port", str(port), "--dir", str(workdir)]
    _pgbouncer("start", *where)
    url = (
        pooler_admin_url()
        .set(port=port, database=migrated["name"])
        .update_query_dict({"pgbouncer": "true"})
    )
    settings = DbSettings(
        database_url=None,
        db_pool_size=2,
        db_max_overflow=2,
        db_connect_retries=0,
        db_connect_timeout=2,
        db_log_queries=False,
        node_env="test",
    )
    engine = build_engine(url, settings=settings)
    acked: list[tuple[float, str]] = []
    failures: list[float] = []
    unexpected: list[BaseException] = []
    done = threading.Event()

    def writer(t: int) -> None:
        i = 0
        while not done.is_set():
            email = f"fault-{t}-{i}@pgb.example"
            i += 1
            started = time.monotonic()
            try:
                with unit_of_work(bind=engine) as session:
                    session.add(User(email=email, password_hash="x", display_name="F"))
                acked.append((time.monotonic(), email))
            except DatabaseUnavailableError:
                failures.append(time.monotonic() - started)
                time.sleep(0.05)
            except BaseException as exc:  # - anything else breaks the invariant
                unexpected.append(exc)
                return

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        _pgbouncer("stop", "--dir", where[-1])
        time.sleep(OUTAGE_S)
        _pgbouncer("start", *where)
        restarted = time.monotonic()
        time.sleep(2.0)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=30)
        engine.dispose()
        subprocess.run(["bash", str(PGBOUNCER_SCRIPTS / "stop"), "--dir", where[-1]], check=False)
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"acknowledged {len(acked)}, failed cleanly {len(failures)} (slowest "
        f"{max(failures, default=0):.2f} s), unexpected {len(unexpected)}"
    )
    assert unexpected == []
    assert failures, "the outage was not seen: no write failed while PgBouncer was down"
    assert max(failures) < FAIL_FAST_BOUND_S
    emails = [email for _, email in acked]
    with migrated_direct(migrated) as conn:
        stored = list(conn.execute(select(User.email).where(User.display_name == "F")).scalars())
    assert len(stored) == len(set(stored))
    assert set(emails) <= set(stored)  # acknowledged => stored (once: emails are unique)
    print(f"stored {len(stored)} (stored but not acknowledged: {len(set(stored) - set(emails))})")
    assert any(at > restarted for at, _ in acked), "no write succeeded after the restart"


def migrated_direct(migrated: dict[str, Any]) -> Any:
    engine = create_engine(migrated["direct"], poolclass=NullPool)
    return engine.begin()
