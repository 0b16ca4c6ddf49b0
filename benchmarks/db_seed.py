"""Seeding benchmarks for repo_db on throwaway databases (PostgreSQL and a temp SQLite file).

    PYTHONPATH=packages/db/src /opt/devvenv/bin/python benchmarks/db_seed.py --help

1. Insert throughput of the same user rows: COPY (binary, as ``bulk_seed`` writes) vs batched
   executemany vs one row per INSERT (each its own transaction, and all in one transaction).
2. ``repo-db seed --users N`` wall time as a fresh process (imports, one Argon2 hash, all
   tables), then a re-run that must create nothing (idempotent); in-process: users only and
   the whole data set, median of rounds.
3. The query plans of lookups by e-mail and by id on the N-user table (index, not a scan).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.engine import URL

from repo_db import build_engine, migrate, unit_of_work
from repo_db.bulk_seed import _USER_COLUMNS, BulkPlan, _write_users, _Writer, bulk_seed
from repo_db.config import DbSettings
from repo_db.models import User, metadata
from repo_db.testing import PostgresDatabase, admin_postgres_url

# No statement logs, no slow-query warnings (the cleanup DELETEs are slow on purpose).
SETTINGS = DbSettings(db_log_queries=False, db_slow_query_ms=0)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
users = metadata.tables["users"]


@contextmanager
def fresh_database(dialect: str, workdir: Path) -> Iterator[Engine]:
    """A migrated, empty database; dropped (PostgreSQL) or deleted (SQLite) afterwards."""
    if dialect == "sqlite":
        path = workdir / f"seed-{time.monotonic_ns()}.sqlite3"
        engine = build_engine(URL.create("sqlite", database=str(path)), settings=SETTINGS)
        try:
            migrate.upgrade(engine)
            yield engine
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    database = PostgresDatabase(admin_postgres_url())
    database.create()
    engine = build_engine(database.url, settings=SETTINGS)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        database.drop()


def user_rows(prefix: str, n: int) -> list[tuple[Any, ...]]:
    return [(f"{prefix}{i}@bench.example", "x", "B", "learner", True, NOW, NOW) for i in range(n)]


def as_dicts(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(_USER_COLUMNS, r, strict=True)) for r in rows]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:12,.0f} rows/s"


def throughput(engine: Engine, n: int, n_single: int, batch: int) -> list[tuple[str, float]]:
    """[(method, rows/s)] for the same user rows; each method starts from an empty table."""

    def clear() -> None:
        with engine.begin() as conn:
            conn.execute(users.delete())

    def timed(fn: Callable[[], None]) -> float:
        clear()
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    def writer() -> None:  # what bulk_seed uses
        with unit_of_work(bind=engine) as session:
            _Writer(session.connection(), batch, None).write(
                users, _USER_COLUMNS, user_rows("copy", n)
            )

    postgres = engine.dialect.name == "postgresql"
    label = "COPY (binary)" if postgres else f"bulk_seed tuples, {batch:,}/batch"
    results: list[tuple[str, float]] = [(label, n / timed(writer))]

    def batched() -> None:
        data = as_dicts(user_rows("batch", n))
        with engine.begin() as conn:
            for i in range(0, n, batch):
                conn.execute(insert(User), data[i : i + batch])

    results.append((f"executemany, {batch:,}/batch", n / timed(batched)))

    def single_one_tx() -> None:
        data = as_dicts(user_rows("one", n_single))
        with engine.begin() as conn:
            for row in data:
                conn.execute(insert(User).values(row))

    results.append(("1 row/INSERT, one tx", n_single / timed(single_one_tx)))

    def single_own_tx() -> None:
        data = as_dicts(user_rows("own", n_single))
        for row in data:
            with engine.begin() as conn:
                conn.execute(insert(User).values(row))

    results.append(("1 row/INSERT, tx each", n_single / timed(single_own_tx)))
    clear()
    return results


def seed_in_process(engine: Engine, n_users: int) -> tuple[float, float, int]:
    """(users-only s, full data set s, rows written by the full seed) on empty tables."""
    with engine.connect() as conn:
        start = time.perf_counter()
        written = len(_write_users(_Writer(conn, 5_000, None), n_users))
        users_only = time.perf_counter() - start
        assert written == n_users
        conn.rollback()  # leave the tables empty for the full seed
    start = time.perf_counter()
    summary = bulk_seed(n_users, engine)
    full = time.perf_counter() - start
    total = sum(summary.created.values())
    for table in reversed(metadata.sorted_tables):  # empty again for the next round
        with engine.begin() as conn:
            conn.execute(table.delete())
    return users_only, full, total


def cli_seed(url: str, n_users: int) -> tuple[float, str]:
    """Wall seconds and last output line of ``repo-db --url URL seed --users N``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "COLUMNS": "250"}
    cmd = [sys.executable, "-m", "repo_db.cli", "--url", url, "seed", "--users", str(n_users)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    lines = [line.strip() for line in proc.stdout.splitlines() if "created" in line]
    return elapsed, (lines[-1] if lines else "")


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.execute(select(func.count()).select_from(metadata.tables[t])).scalar_one())
            for t in BulkPlan.for_users(1).totals()
        }


def plans(engine: Engine) -> list[str]:
    lookups = (
        ("email", "SELECT * FROM users WHERE email = 'user4242@seed.example.com'"),
        ("id", "SELECT * FROM users WHERE id = 4242"),
    )
    out = []
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE users"))
            prefix = "EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY OFF) "
            for label, sql in lookups:
                lines = [str(row[0]).strip() for row in conn.execute(text(prefix + sql))]
                out.append(f"  by {label:5}: " + " | ".join(lines))
        else:
            conn.execute(text("ANALYZE"))
            for label, sql in lookups:
                rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
                out.append(f"  by {label:5}: " + " | ".join(str(r[-1]) for r in rows))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(
            "repo_db seeding benchmarks on throwaway PostgreSQL (REPO_DB_TEST_POSTGRES_URL, "
            "default postgres@127.0.0.1:5432) and SQLite (temp file) databases."
        )
    )
    parser.add_argument("--users", type=int, default=100_000, help="N for repo-db seed --users")
    parser.add_argument("--rows", type=int, default=20_000, help="rows per throughput method")
    parser.add_argument(
        "--single-rows", type=int, default=2_000, help="rows for the 1-row/INSERT methods"
    )
    parser.add_argument("--batch", type=int, default=5_000, help="executemany batch size")
    parser.add_argument("--rounds", type=int, default=3, help="in-process seed rounds (median)")
    parser.add_argument(
        "--dialects", nargs="+", default=["postgresql", "sqlite"], choices=["postgresql", "sqlite"]
    )
    args = parser.parse_args()
    plan = BulkPlan.for_users(args.users)
    print(
        f"repo_db seeding, {os.cpu_count()} CPUs; plan for --users {args.users:,}: "
        f"{sum(plan.totals().values()):,} rows {plan.totals()}"
    )
    with tempfile.TemporaryDirectory(prefix="repo-db-seed-bench-") as tmp:
        workdir = Path(tmp)
        for dialect in args.dialects:
            print(f"\n=== {dialect} ===")
            with fresh_database(dialect, workdir) as engine:
                results = throughput(engine, args.rows, args.single_rows, args.batch)
                fastest = results[0][1]
                print(f"insert throughput ({args.rows:,} rows; 1-row methods {args.single_rows:,})")
                for name, rows_per_s in results:
                    print(
                        f"  {name:26} {rows_per_s:12,.0f} rows/s   "
                        f"{fastest / rows_per_s:7.1f}x slower than the first row"
                    )
                runs = [seed_in_process(engine, args.users) for _ in range(args.rounds)]
                users_s = statistics.median(r[0] for r in runs)
                full_s = statistics.median(r[1] for r in runs)
                total = runs[0][2]
                print(f"in-process, median of {args.rounds} rounds on empty tables:")
                print(
                    f"  users only     {args.users:>9,} rows {users_s:7.2f} s "
                    f"{rate(args.users, users_s)}   rounds: "
                    + ", ".join(f"{r[0]:.2f}" for r in runs)
                )
                print(
                    f"  full data set  {total:>9,} rows {full_s:7.2f} s {rate(total, full_s)}   "
                    "rounds: " + ", ".join(f"{r[1]:.2f}" for r in runs)
                )
                url = engine.url.render_as_string(hide_password=False)
                first, out1 = cli_seed(url, args.users)
                after_first = counts(engine)
                again, out2 = cli_seed(url, args.users)
                after_again = counts(engine)
                print(f"repo-db seed --users {args.users} (fresh process, empty tables):")
                print(f"  first run  {first:7.2f} s wall   {out1}")
                print(f"  re-run     {again:7.2f} s wall   {out2}")
                same = "yes" if after_first == after_again else f"NO: {after_again}"
                print(f"  row counts {after_first}; unchanged by the re-run: {same}")
                print(f"query plans on {after_first['users']:,} users:")
                for line in plans(engine):
                    print(line)


if __name__ == "__main__":
    main()
