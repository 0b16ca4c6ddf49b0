"""Admin user search on 100,000 users: the query plans on both dialects, and latencies.

    ./pants run benchmarks/user_search.py -- --users 100000
    (or: PYTHONPATH=packages/db/src:packages/domain/src python3.11 benchmarks/user_search.py)

Makes a throwaway SQLite file and a throwaway PostgreSQL database, migrates both, seeds them with
`repo-db seed --users N` (a fresh process per database, as a user would), ANALYZEs, then prints
`EXPLAIN` of the exact statement `repo_domain.accounts.list_users` runs and the median time of a
page through `repo_domain.accounts.list_users` in a read-only unit of work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from repo_db import build_engine, migrate, unit_of_work
from repo_db.config import DbSettings
from repo_db.models import Role
from repo_db.testing import PostgresDatabase, admin_postgres_url
from repo_domain import accounts
from repo_domain.common import Actor
from repo_domain.search import user_page_statement

SETTINGS = DbSettings(db_log_queries=False, db_slow_query_ms=0)
PAGE = 25
# (what it shows, query): an email prefix, a display-name prefix, a miss, and a 1-letter prefix.
QUERIES = (
    ("email prefix", "user4242"),
    ("name prefix", "seed user 777"),
    ("no match", "nobody"),
    ("one letter (most rows match)", "s"),
)
ADMIN = Actor(id=1, role=Role.ADMIN)


@contextmanager
def database(dialect: str, workdir: Path) -> Iterator[Engine]:
    if dialect == "sqlite":
        url = URL.create("sqlite", database=str(workdir / "search.sqlite3"))
        engine = build_engine(url, settings=SETTINGS)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    db = PostgresDatabase(admin_postgres_url())
    db.create()
    engine = build_engine(db.url, settings=SETTINGS)
    try:
        yield engine
    finally:
        engine.dispose()
        db.drop()


def seed(engine: Engine, users: int) -> float:
    migrate.upgrade(engine)
    env = {
        **os.environ,
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        # The child imports what this process imports (a pex under `./pants run`, or a venv).
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "repo_db.cli", "seed", "--users", str(users)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def plan(engine: Engine, query: str) -> list[str]:
    """EXPLAIN of the statement list_users runs, with its bound parameters (not inlined)."""
    compiled = user_page_statement(query=query, after=None, limit=PAGE).compile(engine)
    if engine.dialect.name == "sqlite":
        sql = "EXPLAIN QUERY PLAN " + str(compiled)
        params: Any = tuple(compiled.params[name] for name in compiled.positiontup or ())
    else:
        sql = "EXPLAIN (ANALYZE, COSTS OFF) " + str(compiled)
        params = compiled.params
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(sql, params).all()
    return [str(r[-1]) for r in rows]


def latency_ms(engine: Engine, query: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        with unit_of_work(read_only=True, bind=engine) as session:
            accounts.list_users(session, actor=ADMIN, query=query, after=None, limit=PAGE)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--dialect", choices=("sqlite", "postgresql"), action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for dialect in args.dialect or ("sqlite", "postgresql"):
            with database(dialect, Path(tmp)) as engine:
                seconds = seed(engine, args.users)
                print(f"\n## {dialect}: repo-db seed --users {args.users} took {seconds:.1f} s")
                for label, query in QUERIES:
                    ms = latency_ms(engine, query, args.rounds)
                    print(f"\n### {label}: q={query!r}  median {ms:.2f} ms per page of {PAGE}")
                    for line in plan(engine, query):
                        print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
