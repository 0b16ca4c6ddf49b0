"""AI benchmarks: 2PL calibration at scale and the grading worker's throughput.

1. Calibration: 100,000 simulated learners, each answering 20 of 200 items (2,000,000 answers),
   fitted by repo_ai.calibration (target <= 30 s on the 2-core machine); the recovered
   parameters are compared with the truth. ``--from-db`` also times the real path on PostgreSQL:
   load the graded answers through repo_db, fit, store a calibration version.
2. Worker throughput: N submitted attempts with a free-text answer waiting in ``grading`` on a
   private PostgreSQL database, graded by 1 and then 2 ``python -m repo_ai worker`` processes;
   the rate is attempts graded per second between the first and the last grade.

    PYTHONPATH=packages/db/src:packages/domain/src:apps/ai/src python benchmarks/ai_calibration.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Engine, func, insert, select, text

from benchmarks.private_db import private_database
from repo_ai.calibration import fit_2pl
from repo_ai.simulation import simulate
from repo_ai.store import load_responses
from repo_ai.work import calibrate_assessment
from repo_db import unit_of_work
from repo_db.models import Assessment, Attempt, Feedback, Job, Question, Response, Result, User

ANSWERS = (
    "With a sorted B-tree index the database avoids a full table scan.",
    "It makes the emails unique.",
    "Because the emails are sorted, finding one is quick.",
)


def bench_calibration(learners: int, items: int, per_learner: int) -> None:
    sim = simulate(n_learners=learners, n_items=items, per_learner=per_learner, seed=1)
    started = time.perf_counter()
    fit = fit_2pl(sim.learner, sim.item, sim.correct, n_items=items)
    seconds = time.perf_counter() - started
    r_b = np.corrcoef(fit.difficulty, sim.difficulty)[0, 1]
    r_a = np.corrcoef(fit.discrimination, sim.discrimination)[0, 1]
    print(
        f"calibration (in memory): {items} items, {learners:,} learners x {per_learner} = "
        f"{sim.correct.size:,} answers: {seconds:.1f} s, {fit.iterations} EM iterations, "
        f"converged={fit.converged}, difficulty r={r_b:.4f}, discrimination r={r_a:.4f}",
        flush=True,
    )


def _copy(
    engine: Engine, table: str, columns: list[str], rows: Iterator[tuple[object, ...]]
) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()  # type: ignore[union-attr]
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def _users(engine: Engine, n: int) -> list[int]:
    _copy(
        engine,
        "users",
        ["email", "password_hash", "display_name", "role", "created_at", "updated_at"],
        (
            (f"b{i}@bench.test", "x", f"B{i}", "learner", datetime.now(UTC), datetime.now(UTC))
            for i in range(n)
        ),
    )
    with unit_of_work(bind=engine, read_only=True) as session:
        return list(session.scalars(select(User.id).order_by(User.id)))


def bench_calibration_from_db(admin: str, learners: int, items: int, per_learner: int) -> None:
    sim = simulate(n_learners=learners, n_items=items, per_learner=per_learner, seed=1)
    with private_database(admin, prefix="repo_ai_bench") as engine:
        users = _users(engine, learners + 1)
        with unit_of_work(bind=engine) as session:
            assessment = Assessment(author_id=users[-1], title="bench", status="published")
            session.add(assessment)
            session.flush()
            questions = [
                Question(assessment_id=assessment.id, position=i, kind="numeric", prompt=str(i))
                for i in range(items)
            ]
            session.add_all(questions)
            session.flush()
            qids = [q.id for q in questions]
            aid = assessment.id
        now = datetime.now(UTC)
        _copy(
            engine,
            "attempts",
            ["assessment_id", "user_id", "status", "started_at"],
            ((aid, users[i], "graded", now) for i in range(learners)),
        )
        with unit_of_work(bind=engine, read_only=True) as session:
            attempt_ids = list(session.scalars(select(Attempt.id).order_by(Attempt.id)))
        _copy(
            engine,
            "responses",
            ["attempt_id", "question_id", "is_correct", "score", "grading_status", "updated_at"],
            (
                (attempt_ids[int(n)], qids[int(i)], bool(c), float(c), "not_required", now)
                for n, i, c in zip(sim.learner, sim.item, sim.correct, strict=True)
            ),
        )
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        started = time.perf_counter()
        with unit_of_work(bind=engine, read_only=True) as session:
            data = load_responses(session, aid)
        loaded = time.perf_counter()
        with unit_of_work(bind=engine) as session:
            outcome = calibrate_assessment(session, assessment_id=aid, reestimate=False)
        seconds = time.perf_counter() - loaded
        print(
            f"calibration (PostgreSQL, `calibrate` = load + fit + store): {outcome.n_responses:,} "
            f"answers, {outcome.n_items} items: {seconds:.1f} s, of which loading the "
            f"{data.correct.size:,} answers through repo_db {loaded - started:.1f} s "
            f"(calibration {outcome.calibration_id})",
            flush=True,
        )


def _seed_grading(engine: Engine, n: int) -> None:
    users = _users(engine, n + 1)
    with unit_of_work(bind=engine) as session:
        assessment = Assessment(author_id=users[-1], title="bench", status="published")
        session.add(assessment)
        session.flush()
        question = Question(
            assessment_id=assessment.id,
            position=1,
            kind="free_text",
            prompt="Why does an index speed up a lookup by email?",
            points=2.0,
            reference_answer="It avoids a full table scan by using a sorted B-tree.",
            rubric_keywords=["full table scan|every row|all rows", "b-tree|btree|sorted"],
        )
        session.add(question)
        session.flush()
        aid, qid = assessment.id, question.id
    now = datetime.now(UTC)
    _copy(
        engine,
        "attempts",
        ["assessment_id", "user_id", "status", "started_at", "submitted_at"],
        ((aid, users[i], "grading", now, now) for i in range(n)),
    )
    with unit_of_work(bind=engine) as session:
        attempt_ids = list(session.scalars(select(Attempt.id).order_by(Attempt.id)))
        session.execute(
            insert(Response),
            [
                {
                    "attempt_id": a,
                    "question_id": qid,
                    "text_value": ANSWERS[k % len(ANSWERS)],
                    "grading_status": "pending",
                }
                for k, a in enumerate(attempt_ids)
            ],
        )
        session.execute(
            insert(Result),
            [
                {
                    "attempt_id": a,
                    "user_id": users[k],
                    "assessment_id": aid,
                    "score": 0.0,
                    "max_score": 2.0,
                    "percent": 0.0,
                    "passed": None,
                    "details": {"questions": [], "pending": 1},
                }
                for k, a in enumerate(attempt_ids)
            ],
        )
        session.execute(
            insert(Job),
            [{"kind": "grade_attempt", "subject_id": a, "run_after": now} for a in attempt_ids],
        )


def bench_worker(admin: str, attempts: int, workers: int) -> None:
    with private_database(admin, prefix="repo_ai_bench") as engine:
        _seed_grading(engine, attempts)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AI_")}
        env.update(
            DATABASE_URL=engine.url.render_as_string(hide_password=False),
            AI_LOG_LEVEL="warning",
            AI_POLL_INTERVAL_SECONDS="0.2",
            DB_LOG_QUERIES="0",
        )
        started = time.perf_counter()
        procs = [
            subprocess.Popen([sys.executable, "-m", "repo_ai", "worker", "--drain"], env=env)
            for _ in range(workers)
        ]
        failed = [code for code in (proc.wait() for proc in procs) if code != 0]
        if failed:
            raise SystemExit(f"{len(failed)} worker process(es) failed (exit {failed[0]})")
        wall = time.perf_counter() - started
        with unit_of_work(bind=engine, read_only=True) as session:
            graded = session.scalar(
                select(func.count()).select_from(Attempt).where(Attempt.status == "graded")
            )
            first, last = session.execute(
                select(func.min(Feedback.created_at), func.max(Feedback.created_at))
            ).one()
            twice = session.scalar(
                select(func.count()).select_from(
                    select(Feedback.response_id)
                    .group_by(Feedback.response_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
        span = (last - first).total_seconds()
        print(
            f"worker throughput, {workers} worker(s): {graded:,}/{attempts:,} attempts graded "
            f"(graded twice: {twice}); {graded / span:.0f} attempts/s between first and last "
            f"grade ({span:.1f} s; wall {wall:.1f} s incl. start-up and ability re-estimates)",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--per-learner", type=int, default=20)
    parser.add_argument(
        "--from-db", action="store_true", help="also time load+fit+store on PostgreSQL"
    )
    parser.add_argument("--attempts", type=int, default=2000, help="attempts for the worker run")
    parser.add_argument("--skip-worker", action="store_true")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "REPO_DB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres"
        ),
        help="server admin URL; private databases are created and dropped on it",
    )
    args = parser.parse_args()
    os.environ.setdefault("DB_LOG_QUERIES", "0")
    bench_calibration(args.learners, args.items, args.per_learner)
    if args.from_db:
        bench_calibration_from_db(args.pg_url, args.learners, args.items, args.per_learner)
    if not args.skip_worker:
        for workers in (1, 2):
            bench_worker(args.pg_url, args.attempts, workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
