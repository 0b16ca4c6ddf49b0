"""Seeding benchmarks for repo_db on throwaway databases (PostgreSQL and a temp SQLite file).

    PYTHONPATH=packages/db/src /opt/devvenv/bin/python benchmarks/db_seed.py --help

1. Insert throughput of the same N user rows for every method: COPY (binary, as ``bulk_seed``
   writes) vs batched executemany vs one row per INSERT (each its own transaction, and all in
   one transaction); every sample on a new database, methods interleaved.
2. ``repo-db seed --users N`` wall time as a fresh process (imports, one Argon2 hash, all
   tables) on a new database, then a re-run that must create nothing (idempotent); in-process:
   users only and the whole data set, each sample on a new database.

Every figure is min / median / max of ``--samples`` (default 3) samples.
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


def insert_methods(batch: int) -> dict[str, Callable[[Engine, int, str], None]]:
    """The ways to insert ``n`` user rows, each starting on an empty, freshly migrated table."""

    def copy(engine: Engine, n: int, tag: str) -> None:  # what bulk_seed uses
        with unit_of_work(bind=engine) as session:
            _Writer(session.connection(), batch, None).write(
                users, _USER_COLUMNS, user_rows(tag, n)
            )

    def batched(engine: Engine, n: int, tag: str) -> None:
        data = as_dicts(user_rows(tag, n))
        with engine.begin() as conn:
            for i in range(0, n, batch):
                conn.execute(insert(User), data[i : i + batch])

    def single_one_tx(engine: Engine, n: int, tag: str) -> None:
        data = as_dicts(user_rows(tag, n))
        with engine.begin() as conn:
            for row in data:
                conn.execute(insert(User).values(row))

    def single_own_tx(engine: Engine, n: int, tag: str) -> None:
        for row in as_dicts(user_rows(tag, n)):
            with engine.begin() as conn:
                conn.execute(insert(User).values(row))

    return {
        "bulk_seed writer (PG: COPY; SQLite: batches)": copy,
        f"executemany, {batch:,}/batch": batched,
        "1 row/INSERT, one tx": single_one_tx,
        "1 row/INSERT, tx each": single_own_tx,
    }


def throughput(
    dialect: str, workdir: Path, n: int, batch: int, samples: int
) -> dict[str, list[float]]:
    """{method: [rows/s per sample]}: the same ``n`` rows for every method, each sample on a
    new database, methods interleaved and their order rotated every sample."""
    methods = insert_methods(batch)
    names = list(methods)
    results: dict[str, list[float]] = {name: [] for name in names}
    for sample in range(samples):
        shift = sample % len(names)
        for name in names[shift:] + names[:shift]:
            with fresh_database(dialect, workdir) as engine:
                start = time.perf_counter()
                methods[name](engine, n, f"s{sample}-")
                results[name].append(n / (time.perf_counter() - start))
                assert counts(engine)["users"] == n
    return results


def seed_in_process(dialect: str, workdir: Path, n_users: int) -> tuple[float, float, int]:
    """(users-only s, full data set s, rows written by the full seed), each on a new database."""
    with fresh_database(dialect, workdir) as engine, engine.connect() as conn:
        start = time.perf_counter()
        written = len(_write_users(_Writer(conn, 5_000, None), n_users))
        conn.commit()
        users_only = time.perf_counter() - start
        assert written == n_users
    with fresh_database(dialect, workdir) as engine:
        start = time.perf_counter()
        summary = bulk_seed(n_users, engine)
        full = time.perf_counter() - start
    return users_only, full, sum(summary.created.values())


def spread(values: list[float], fmt: str = "{:,.2f}") -> str:
    """min/median/max."""
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


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
            "default postgres@127.0.0.1:5432) and SQLite (temp file) databases; every sample "
            "on a new, freshly migrated database."
        )
    )
    parser.add_argument("--users", type=int, default=100_000, help="N for repo-db seed --users")
    parser.add_argument(
        "--rows", type=int, default=5_000, help="rows per insert method (the same for all)"
    )
    parser.add_argument("--batch", type=int, default=5_000, help="executemany batch size")
    parser.add_argument("--samples", type=int, default=3, help="samples per figure (>= 3)")
    parser.add_argument(
        "--dialects", nargs="+", default=["postgresql", "sqlite"], choices=["postgresql", "sqlite"]
    )
    args = parser.parse_args()
    plan = BulkPlan.for_users(args.users)
    load_before = os.getloadavg()
    print(
        f"repo_db seeding, {os.cpu_count()} CPUs, {args.samples} samples per figure (each on a "
        f"new database), min / median / max; plan for --users {args.users:,}: "
        f"{sum(plan.totals().values()):,} rows {plan.totals()}"
    )
    with tempfile.TemporaryDirectory(prefix="repo-db-seed-bench-") as tmp:
        workdir = Path(tmp)
        for dialect in args.dialects:
            print(f"\n=== {dialect} === (load average now {os.getloadavg()[0]:.2f})")
            results = throughput(dialect, workdir, args.rows, args.batch, args.samples)
            first = next(iter(results))
            print(f"insert throughput, {args.rows:,} rows for every method, rows/s:")
            for name, values in results.items():
                slower = [a / b for a, b in zip(results[first], values, strict=True)]
                print(
                    f"  {name:38} {spread(values, '{:,.0f}'):>30}   "
                    f"{spread(slower, '{:.1f}')}x slower than the first row (per sample)"
                )
            runs = [seed_in_process(dialect, workdir, args.users) for _ in range(args.samples)]
            total = runs[0][2]
            print("in-process seed, seconds:")
            print(
                f"  users only     {args.users:>9,} rows  {spread([r[0] for r in runs])} s"
                f"   ({statistics.median(args.users / r[0] for r in runs):,.0f} rows/s median)"
            )
            print(
                f"  full data set  {total:>9,} rows  {spread([r[1] for r in runs])} s"
                f"   ({statistics.median(total / r[1] for r in runs):,.0f} rows/s median)"
            )
            firsts, agains, out = [], [], ""
            for _ in range(args.samples):
                with fresh_database(dialect, workdir) as engine:
                    url = engine.url.render_as_string(hide_password=False)
                    elapsed, out = cli_seed(url, args.users)
                    firsts.append(elapsed)
                    after_first = counts(engine)
                    elapsed, out2 = cli_seed(url, args.users)
                    agains.append(elapsed)
                    after_again = counts(engine)
                    plan_lines = plans(engine)
            print(f"repo-db seed --users {args.users} (fresh process, new database), seconds:")
            print(f"  first run  {spread(firsts)}   {out}")
            print(f"  re-run     {spread(agains)}   {out2}")
            same = "yes" if after_first == after_again else f"NO: {after_again}"
            print(f"  row counts {after_first}; unchanged by the re-run: {same}")
            print(f"query plans on {after_first['users']:,} users:")
            for line in plan_lines:
                print(line)
    load_after = os.getloadavg()
    print(
        f"\nload average (1/5/15 min) before {'/'.join(f'{x:.2f}' for x in load_before)}, "
        f"after {'/'.join(f'{x:.2f}' for x in load_after)}"
    )


if __name__ == "__main__":
    main()
