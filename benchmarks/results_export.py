"""Memory of the results CSV export (issue 20): does it stay flat from 10,000 to 100,000 attempts?

    ./pants run benchmarks/results_export.py                          # 10k and 100k, both databases
    ./pants run benchmarks/results_export.py -- --sizes 2000 20000 --dialects sqlite   # quick

For each database (a throwaway SQLite file, a throwaway PostgreSQL database) and each size N:
migrate, insert one published assessment with 3 questions and N graded attempts (N learners,
3N responses, N results), then measure with tracemalloc the peak of Python allocations while
1. the export streams (``repo_domain.results_export``: repo_db.stream_rows, chunks of 500 rows),
   the bytes counted and thrown away as an HTTP response would send them, and
2. the baseline: the same statement's rows fetched into one list (what a non-streaming export
   holds before writing a byte).
tracemalloc sees Python objects, not the C buffers of libpq or SQLite's page cache.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import URL

from repo_db import build_engine, migrate, unit_of_work
from repo_db.config import DbSettings
from repo_db.models import (
    Assessment,
    AssessmentStatus,
    Attempt,
    AttemptStatus,
    Question,
    QuestionKind,
    Response,
    Result,
    Role,
    User,
)
from repo_db.testing import PostgresDatabase, admin_postgres_url
from repo_domain import results_export
from repo_domain.common import Actor

SETTINGS = DbSettings(db_log_queries=False, db_slow_query_ms=0)
QUESTIONS = 3
BATCH = 5_000


@contextmanager
def database(dialect: str, workdir: Path) -> Iterator[Engine]:
    if dialect == "sqlite":
        engine = build_engine(
            URL.create("sqlite", database=str(workdir / "export.sqlite3")), settings=SETTINGS
        )
        try:
            migrate.upgrade(engine)
            yield engine
        finally:
            engine.dispose()
        return
    db = PostgresDatabase(admin_postgres_url())
    db.create()
    engine = build_engine(db.url, settings=SETTINGS)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        db.drop()


def seed(engine: Engine, n: int) -> tuple[int, int]:
    """One assessment with N graded attempts; returns (assessment id, author id)."""
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with unit_of_work(bind=engine) as session:
        author = User(
            email="author@export.bench",
            password_hash="x",  # noqa: S106 - never logs in
            display_name="A",
            role=Role.AUTHOR,
        )
        session.add(author)
        session.flush()
        assessment = Assessment(
            author_id=author.id, title="Export", status=AssessmentStatus.PUBLISHED
        )
        session.add(assessment)
        session.flush()
        questions = [
            Question(
                assessment_id=assessment.id,
                position=p,
                kind=QuestionKind.NUMERIC,
                prompt=f"Q{p}",
                points=p + 1,
                numeric_answer=1,
            )
            for p in range(QUESTIONS)
        ]
        session.add_all(questions)
        session.flush()
        assessment_id, author_id, question_ids = assessment.id, author.id, [q.id for q in questions]
    with engine.begin() as conn:
        first_user = int(conn.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0) + 1
        first_attempt = (
            int(conn.scalar(select(Attempt.id).order_by(Attempt.id.desc()).limit(1)) or 0) + 1
        )
        for lo in range(0, n, BATCH):
            hi = min(n, lo + BATCH)
            conn.execute(
                insert(User),
                [
                    {
                        "id": first_user + i,
                        "email": f"l{i}@export.bench",
                        "password_hash": "x",
                        "display_name": f"Learner {i}",
                    }
                    for i in range(lo, hi)
                ],
            )
            conn.execute(
                insert(Attempt),
                [
                    {
                        "id": first_attempt + i,
                        "assessment_id": assessment_id,
                        "user_id": first_user + i,
                        "status": AttemptStatus.GRADED.value,
                        "started_at": start + timedelta(seconds=i),
                        "submitted_at": start + timedelta(seconds=i + 600),
                    }
                    for i in range(lo, hi)
                ],
            )
            conn.execute(
                insert(Response),
                [
                    {
                        "attempt_id": first_attempt + i,
                        "question_id": q,
                        "numeric_value": 1.0,
                        "score": float(j + 1) * (i % 2),
                    }
                    for i in range(lo, hi)
                    for j, q in enumerate(question_ids)
                ],
            )
            conn.execute(
                insert(Result),
                [
                    {
                        "attempt_id": first_attempt + i,
                        "user_id": first_user + i,
                        "assessment_id": assessment_id,
                        "score": 6.0 * (i % 2),
                        "max_score": 6.0,
                        "percent": 100.0 * (i % 2),
                        "passed": bool(i % 2),
                    }
                    for i in range(lo, hi)
                ],
            )
    return assessment_id, author_id


def peak(run: Callable[[], int]) -> tuple[int, int, float]:
    """(peak bytes traced, run's result, seconds)."""
    gc.collect()
    tracemalloc.start()
    began = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - began
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top, result, seconds


def measure(dialect: str, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, database(dialect, Path(tmp)) as engine:
        assessment_id, author_id = seed(engine, n)
        with unit_of_work(read_only=True, bind=engine) as session:
            export = results_export.results_export(
                session, actor=Actor(id=author_id, role=Role.AUTHOR), assessment_id=assessment_id
            )

        def streamed() -> int:
            return sum(len(chunk) for chunk in export.chunks(bind=engine))

        def buffered() -> int:
            with engine.connect() as conn:
                return len(conn.execute(export._statement()).all())

        stream_peak, size, stream_s = peak(streamed)
        list_peak, rows, list_s = peak(buffered)
        assert rows == n * QUESTIONS, rows
        return {
            "stream_peak": stream_peak,
            "csv_bytes": size,
            "stream_s": stream_s,
            "list_peak": list_peak,
            "list_s": list_s,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--dialects", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    args = parser.parse_args()
    print(
        "| database | attempts | CSV MiB | streamed peak KiB | all-rows list peak KiB "
        "| stream s (traced) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for dialect in args.dialects:
        base = None
        for n in args.sizes:
            m = measure(dialect, n)
            base = base or m
            print(
                f"| {dialect} | {n:,} | {m['csv_bytes'] / 2**20:.1f} "
                f"| {m['stream_peak'] / 1024:,.0f} (x{m['stream_peak'] / base['stream_peak']:.2f}) "
                f"| {m['list_peak'] / 1024:,.0f} "
                f"(x{m['list_peak'] / base['list_peak']:.2f}) | {m['stream_s']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
