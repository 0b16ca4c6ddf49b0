"""Regrade speed (issue 20): attempts per second of ``repo_domain.regrade`` against a plain
rescore loop, on the same data.

    nice -n 10 ./pants run benchmarks/regrade.py     # 10,000 attempts, 3 rounds, both databases
    nice -n 10 ./pants run benchmarks/regrade.py -- --sizes 2000 --rounds 1 --dialects sqlite

For each database and size N: the results-export benchmark's data (one published assessment with
3 numeric questions, N graded attempts, 3N responses; ``benchmarks.results_export.seed``), then
question 1 is corrected (its answer 1 becomes 2: a new version) and every attempt is regraded,
in one unit of work, by
1. ``repo_domain.regrade.regrade(dry_run=True)`` (the preview: computes, writes nothing),
2. ``repo_domain.regrade.regrade(dry_run=False)``: batches of 500 results with their answers,
3. the baseline, on a fresh copy of the data: a loop over the attempts that moves the answer to
   the new version and calls ``grading.refresh_result`` for each (the per-attempt path submit and
   grading use: a handful of queries per attempt).
Seeding and the correction are not timed. Each round seeds fresh data for each variant and
alternates which goes first; a 200-attempt round first is the warm-up. Printed: attempts/s as
min / median / max over the rounds, the median ratio, the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, select, update

from benchmarks.results_export import database, seed
from repo_db import unit_of_work
from repo_db.models import Question, Response, Result, Role
from repo_domain import assessments, grading, regrade
from repo_domain.common import Actor
from repo_domain.questions import QuestionSpec


def corrected(engine: Engine, assessment_id: int, author: Actor) -> int:
    """Correct the first question (numeric answer 1 -> 2); returns its id."""
    with unit_of_work(bind=engine) as session:
        question = session.scalars(
            select(Question).where(Question.assessment_id == assessment_id, Question.position == 0)
        ).one()
        spec = QuestionSpec.from_model(question, [])
        assessments.change_question(
            session,
            actor=author,
            assessment_id=assessment_id,
            question_id=question.id,
            spec=QuestionSpec(
                kind=spec.kind, prompt=spec.prompt, points=spec.points, numeric_answer=2.0
            ),
        )
        return question.id


def plain_loop(engine: Engine, assessment_id: int, question_id: int) -> int:
    with unit_of_work(bind=engine) as session:
        version = session.scalar(select(Question.version).where(Question.id == question_id))
        ids = session.scalars(
            select(Result.attempt_id).where(Result.assessment_id == assessment_id)
        ).all()
        for attempt_id in ids:
            session.execute(
                update(Response)
                .where(Response.attempt_id == attempt_id, Response.question_id == question_id)
                .values(question_version=version)
            )
            grading.refresh_result(session, attempt_id=attempt_id)
        return len(ids)


def timed(run: Callable[[], int]) -> tuple[int, float]:
    began = time.perf_counter()
    count = run()
    return count, time.perf_counter() - began


def regraded(
    engine: Engine, assessment_id: int, question_id: int, author: Actor, dry_run: bool
) -> int:
    with unit_of_work(read_only=dry_run, bind=engine) as session:
        report = regrade.regrade(
            session,
            actor=author,
            assessment_id=assessment_id,
            question_id=question_id,
            dry_run=dry_run,
        )
        return len(report.attempts)


def variant_seconds(dialect: str, n: int, variant: str) -> dict[str, float]:
    """On freshly seeded data: the plain loop, or the preview and then the regrade."""
    with tempfile.TemporaryDirectory() as tmp, database(dialect, Path(tmp)) as engine:
        assessment_id, author_id = seed(engine, n)
        author = Actor(id=author_id, role=Role.AUTHOR)
        question_id = corrected(engine, assessment_id, author)
        runs: dict[str, Callable[[], int]] = (
            {"plain": partial(plain_loop, engine, assessment_id, question_id)}
            if variant == "plain"
            else {
                "preview": partial(regraded, engine, assessment_id, question_id, author, True),
                "regrade": partial(regraded, engine, assessment_id, question_id, author, False),
            }
        )
        out = {}
        for name, run in runs.items():
            count, out[name] = timed(run)
            assert count == n, (name, count)
        return out


def one_round(dialect: str, n: int, order: tuple[str, ...]) -> dict[str, float]:
    return {k: v for variant in order for k, v in variant_seconds(dialect, n, variant).items()}


def spread(values: list[float]) -> str:
    """min / median / max."""
    return " / ".join(f"{v:,.0f}" for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--dialects", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    print(
        "| database | attempts | preview attempts/s | regrade attempts/s "
        "| plain loop attempts/s | regrade vs plain loop (median of rounds) | load average |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for dialect in args.dialects:
        one_round(dialect, 200, ("regrade", "plain"))  # warm-up: imports, caches, first connect
        for n in args.sizes:
            rounds = [
                one_round(dialect, n, ("regrade", "plain") if r % 2 == 0 else ("plain", "regrade"))
                for r in range(args.rounds)
            ]
            rate = {k: [n / m[k] for m in rounds] for k in ("preview", "regrade", "plain")}
            ratio = statistics.median(m["plain"] / m["regrade"] for m in rounds)
            print(
                f"| {dialect} | {n:,} | {spread(rate['preview'])} | {spread(rate['regrade'])} "
                f"| {spread(rate['plain'])} | x{ratio:.1f} | {os.getloadavg()[0]:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
