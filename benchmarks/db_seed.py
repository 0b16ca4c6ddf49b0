"""Insert throughput on PostgreSQL: COPY vs batched executemany vs single-row INSERT, then
EXPLAIN of lookups by email and id on 100k users. Uses a throwaway database.

    PYTHONPATH=packages/db/src /opt/devvenv/bin/python benchmarks/db_seed.py [N_USERS]
"""

from __future__ import annotations

import sys
import time

from sqlalchemy import insert, text

from repo_db import migrate
from repo_db._engine import build_engine
from repo_db.bulk_seed import bulk_seed
from repo_db.config import DbSettings
from repo_db.models import User
from repo_db.testing import PostgresDatabase, admin_postgres_url

N = 20_000


def rows(prefix: str, n: int) -> list[dict[str, object]]:
    return [
        {"email": f"{prefix}{i}@bench.example", "password_hash": "x", "display_name": "B"}
        for i in range(n)
    ]


def main() -> None:
    n_users = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    database = PostgresDatabase(admin_postgres_url())
    database.create()
    engine = build_engine(database.url, settings=DbSettings(db_log_queries=False))
    try:
        migrate.upgrade(engine)
        data = rows("copy", N)
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            start = time.perf_counter()
            with (
                raw.cursor() as cur,
                cur.copy(
                    "COPY users (email, password_hash, display_name, created_at, updated_at) "
                    "FROM STDIN"
                ) as copy,
            ):
                for r in data:
                    copy.write_row((r["email"], "x", "B", "2026-01-01", "2026-01-01"))
            t_copy = time.perf_counter() - start
        batch = rows("batch", N)
        start = time.perf_counter()
        with engine.begin() as conn:
            for i in range(0, N, 5_000):
                conn.execute(insert(User), batch[i : i + 5_000])
        t_batch = time.perf_counter() - start
        single = rows("single", N // 10)
        start = time.perf_counter()
        for r in single:
            with engine.begin() as conn:
                conn.execute(insert(User).values(r))
        t_single = time.perf_counter() - start
        print(f"COPY            {N / t_copy:12,.0f} rows/s")
        print(f"batched insert  {N / t_batch:12,.0f} rows/s  (COPY is {t_batch / t_copy:.1f}x)")
        print(
            f"single-row tx   {len(single) / t_single:12,.0f} rows/s  "
            f"(COPY is {(t_single / len(single)) / (t_copy / N):.0f}x)"
        )
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM users"))
        start = time.perf_counter()
        summary = bulk_seed(n_users, engine)
        elapsed = time.perf_counter() - start
        total = sum(summary.created.values())
        print(
            f"bulk_seed({n_users}): {total:,} rows in {elapsed:.1f}s "
            f"({total / elapsed:,.0f} rows/s)"
        )
        print(f"  {summary.created}")
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
            for label, sql in (
                ("email", "EXPLAIN SELECT * FROM users WHERE email = 'user4242@seed.example.com'"),
                ("id", "EXPLAIN SELECT * FROM users WHERE id = 4242"),
            ):
                plan = [row[0] for row in conn.execute(text(sql))]
                print(f"EXPLAIN by {label}: " + " | ".join(p.strip() for p in plan))
    finally:
        engine.dispose()
        database.drop()


if __name__ == "__main__":
    main()
