"""Real worker processes (`python -m repo_ai worker`) on both databases: two workers grade every
attempt exactly once; a worker killed with SIGKILL mid-job loses the job to another worker only
after its lease has expired."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from repo_ai_tests.helpers import GOOD, make_quiz, make_user, submit_attempt, wiped
from repo_db import unit_of_work
from repo_db.models import Attempt, Feedback, Job, Response

N_ATTEMPTS = 24
TIMEOUT_S = 120.0


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


def _start_worker(
    engine: Engine, log: Path, *args: str, **env_extra: str
) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "NEON_DATABASE_URL", "NODE_ENV", "APP_ENV"}
        and not k.startswith("AI_")
    }
    env["DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    # The child must import exactly what this test process imports (Pants sandbox or checkout).
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
    env.update(AI_POLL_INTERVAL_SECONDS="0.2", AI_LOG_JSON="false", **env_extra)
    return subprocess.Popen(
        [sys.executable, "-m", "repo_ai", "worker", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def _wait(
    predicate: object, what: str, procs: list[subprocess.Popen[bytes]], logs: list[Path]
) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not predicate():  # type: ignore[operator]
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None and proc.returncode not in (-signal.SIGKILL,):
                pytest.fail(f"worker exited ({proc.returncode}):\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out waiting for {what}:\n" + "\n".join(log.read_text() for log in logs)
            )
        time.sleep(0.2)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _graded(engine: Engine, n: int) -> bool:
    with unit_of_work(bind=engine, read_only=True) as session:
        done = session.scalar(
            select(func.count()).select_from(Attempt).where(Attempt.status == "graded")
        )
    return done == n


def test_two_workers_grade_every_attempt_exactly_once(engine: Engine, tmp_path: Path) -> None:
    author = make_user(engine, "author")
    quiz = make_quiz(engine, author)
    for _ in range(N_ATTEMPTS):
        submit_attempt(engine, make_user(engine), quiz, text=GOOD, right=True)
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    # Small batches and a short pause per job, so that both workers get a share of the work.
    procs = [
        _start_worker(engine, log, "--pause-after-claim", "0.1", AI_BATCH_SIZE="2") for log in logs
    ]
    try:
        _wait(lambda: _graded(engine, N_ATTEMPTS), "all attempts graded", procs, logs)
    finally:
        _stop(procs)
    with unit_of_work(bind=engine, read_only=True) as session:
        per_response = session.execute(
            select(Response.id, func.count(Feedback.id))
            .join(Feedback, Feedback.response_id == Response.id)
            .group_by(Response.id)
        ).all()
        grade_jobs = session.execute(
            select(Job.status, Job.tries).where(Job.kind == "grade_attempt")
        ).all()
    assert len(per_response) == N_ATTEMPTS and {n for _id, n in per_response} == {1}
    assert sorted(set(grade_jobs)) == [("done", 1)] and len(grade_jobs) == N_ATTEMPTS
    graded_by = [log.read_text().count("job.done") for log in logs]
    text = [log.read_text() for log in logs]
    assert all(n > 0 for n in graded_by), graded_by  # both workers took part
    assert sum(t.count("graded=1") for t in text) == N_ATTEMPTS


def test_a_killed_workers_job_is_taken_over_after_its_lease(engine: Engine, tmp_path: Path) -> None:
    author, learner = make_user(engine, "author"), make_user(engine)
    quiz = make_quiz(engine, author)
    attempt_id = submit_attempt(engine, learner, quiz, text=GOOD, right=True)
    first_log, second_log = tmp_path / "killed.log", tmp_path / "second.log"
    killed = _start_worker(engine, first_log, "--lease-seconds", "4", "--pause-after-claim", "600")

    def claimed() -> bool:
        with unit_of_work(bind=engine, read_only=True) as session:
            job = session.scalars(
                select(Job).where(Job.kind == "grade_attempt", Job.subject_id == attempt_id)
            ).one()
            return job.status == "running"

    _wait(claimed, "the first worker to claim the job", [killed], [first_log])
    with unit_of_work(bind=engine, read_only=True) as session:
        job = session.scalars(
            select(Job).where(Job.kind == "grade_attempt", Job.subject_id == attempt_id)
        ).one()
        first_owner, lease_expires = job.lease_owner, job.lease_expires_at
    assert first_owner and str(killed.pid) in first_owner and lease_expires is not None
    killed.send_signal(signal.SIGKILL)  # mid-job: claimed, nothing graded yet
    killed.wait(timeout=10)

    second = _start_worker(engine, second_log)
    try:
        _wait(lambda: _graded(engine, 1), "the job to be taken over", [second], [second_log])
    finally:
        _stop([second])
    with unit_of_work(bind=engine, read_only=True) as session:
        job = session.scalars(
            select(Job).where(Job.kind == "grade_attempt", Job.subject_id == attempt_id)
        ).one()
        feedback = session.scalars(select(Feedback)).all()
    assert job.status == "done" and job.tries == 2
    assert len(feedback) == 1
    graded_at = feedback[0].created_at.replace(tzinfo=None)
    assert graded_at >= lease_expires.replace(tzinfo=None)  # not before the lease ran out
    assert "job.done" not in first_log.read_text() and "job.done" in second_log.read_text()
