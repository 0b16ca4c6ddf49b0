"""Per-call overhead of the repo_db helpers vs SQLAlchemy Core vs raw psycopg, same run.

    PYTHONPATH=packages/db/src /opt/devvenv/bin/python benchmarks/db_overhead.py [ITERATIONS]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import Executable, insert, select
from sqlalchemy import update as sa_update

import repo_db
from repo_db import migrate
from repo_db._engine import build_engine
from repo_db.config import DbSettings
from repo_db.models import metadata
from repo_db.testing import PostgresDatabase, admin_postgres_url

users = metadata.tables["users"]


def timed(fn: Callable[[int], object], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    database = PostgresDatabase(admin_postgres_url())
    database.create()
    engine = build_engine(database.url, settings=DbSettings(db_log_queries=False))
    raw_url = database.url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        migrate.upgrade(engine)
        repo_db.create_many(
            "users",
            [
                {
                    "email": f"u{i}@b.example",
                    "password_hash": "x",
                    "display_name": "B",
                }
                for i in range(n)
            ],
            engine=engine,
        )
        ids = [r["id"] for r in repo_db.find_many("users", engine=engine)]
        raw = psycopg.connect(raw_url, autocommit=False)

        def core(stmt_fn: Callable[[int], Executable]) -> Callable[[int], object]:
            def run(i: int) -> object:
                with engine.begin() as conn:
                    return conn.execute(stmt_fn(i)).first()

            return run

        def rawq(sql: str, params: Callable[[int], tuple[object, ...]]) -> Callable[[int], object]:
            def run(i: int) -> object:
                with raw.cursor() as cur:
                    cur.execute(sql, params(i))
                    row = cur.fetchone()
                raw.commit()
                return row

            return run

        cases = {
            "find_by_id": (
                lambda i: repo_db.find_by_id("users", ids[i], engine=engine),
                core(lambda i: select(users).where(users.c.id == ids[i]).limit(1)),
                rawq(
                    "SELECT * FROM users WHERE id = %s LIMIT 1",
                    lambda i: (ids[i],),
                ),
            ),
            "find_by": (
                lambda i: repo_db.find_by("users", "email", f"u{i}@b.example", engine=engine),
                core(lambda i: select(users).where(users.c.email == f"u{i}@b.example").limit(1)),
                rawq(
                    "SELECT * FROM users WHERE email = %s LIMIT 1",
                    lambda i: (f"u{i}@b.example",),
                ),
            ),
            "create": (
                lambda i: repo_db.create(
                    "users",
                    {
                        "email": f"h{i}@b.example",
                        "password_hash": "x",
                        "display_name": "B",
                    },
                    engine=engine,
                ),
                core(
                    lambda i: insert(users)
                    .values(
                        email=f"c{i}@b.example",
                        password_hash="x",  # noqa: S106 - benchmark data
                        display_name="B",
                    )
                    .returning(*users.c)
                ),
                rawq(
                    "INSERT INTO users (email, password_hash, display_name, created_at, "
                    "updated_at) VALUES (%s, 'x', 'B', now(), now()) RETURNING *",
                    lambda i: (f"r{i}@b.example",),
                ),
            ),
            "update": (
                lambda i: repo_db.update("users", ids[i], {"display_name": "H"}, engine=engine),
                core(
                    lambda i: sa_update(users)
                    .where(users.c.id == ids[i])
                    .values(display_name="C")
                    .returning(*users.c)
                ),
                rawq(
                    "UPDATE users SET display_name = 'R', updated_at = now() "
                    "WHERE id = %s RETURNING *",
                    lambda i: (ids[i],),
                ),
            ),
        }
        print(
            f"{'operation':12} {'helper µs':>10} {'core µs':>10} {'raw µs':>10} "
            f"{'helper/core':>12} {'helper/raw':>11}"
        )
        for name, (helper, core_fn, raw_fn) in cases.items():
            for fn in (helper, core_fn, raw_fn):  # warm up caches and the pool
                timed(fn, 50) if name not in ("create",) else None
            t_raw = timed(raw_fn, n)
            t_core = timed(core_fn, n)
            t_helper = timed(helper, n)
            print(
                f"{name:12} {t_helper:10.1f} {t_core:10.1f} {t_raw:10.1f} "
                f"{t_helper / t_core:12.2f} {t_helper / t_raw:11.2f}"
            )
        raw.close()
    finally:
        engine.dispose()
        database.drop()


if __name__ == "__main__":
    main()
