"""The worker: claim jobs from repo_db's work queue under a lease and run them.

Each job's writes and its ``complete`` run in ONE unit of work; if the lease was lost meanwhile
(the job took longer than the lease and another worker took it over), ``complete`` matches
nothing and the unit rolls back, so no attempt is graded twice. A killed worker's jobs are taken
again by any worker once their lease expires.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from repo_ai.config import AiSettings
from repo_ai.grading_model import shipped_model
from repo_ai.grading_wordnet import wordnet
from repo_ai.hold_switch import HoldSwitch
from repo_ai.work import (
    ESTIMATE_ABILITY,
    GRADE_ATTEMPT,
    KINDS,
    estimate_for_attempt,
    grade_attempt,
    sweep_grading,
)
from repo_db import DatabaseUnavailableError, jobs, unit_of_work

log = structlog.get_logger("repo_ai.worker")
#: Seconds before a failed job is tried again, multiplied by its number of tries so far.
RETRY_BACKOFF_S = 5.0


def warm_up_grader() -> float:
    """Load WordNet (2-6 s) and fit the grader's model (seconds) now, before the first claim,
    not inside a grading job's lease; the seconds it took."""
    started = time.monotonic()
    wordnet()
    shipped_model()
    return time.monotonic() - started


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class WorkerStats:
    done: int = 0
    failed: int = 0
    lease_lost: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class Worker:
    settings: AiSettings
    engine: Engine | None = None
    kinds: tuple[str, ...] = KINDS
    name: str = field(default_factory=worker_id)
    #: Testing hook: sleep this long after claiming, before the job's work (crash recovery tests).
    pause_after_claim_s: float = 0.0
    stop_event: threading.Event = field(default_factory=threading.Event)
    stats: WorkerStats = field(default_factory=WorkerStats)
    on_job_done: Callable[[jobs.ClaimedJob], None] | None = None
    #: TEST-ONLY (AI_TEST_ONLY_HOLD_AFTER_CLAIM, refused in production): hold after a claim.
    hold: HoldSwitch | None = field(default_factory=HoldSwitch.from_env)

    def stop(self, *_args: object) -> None:
        self.stop_event.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("worker.stopping", signal=signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def claim(self) -> list[jobs.ClaimedJob]:
        with unit_of_work(bind=self.engine) as session:
            return jobs.claim(
                session,
                kinds=self.kinds,
                worker=self.name,
                limit=self.settings.batch_size,
                lease_s=self.settings.lease_seconds,
            )

    def sweep(self) -> None:
        if GRADE_ATTEMPT not in self.kinds:
            return
        with unit_of_work(bind=self.engine) as session:
            queued = sweep_grading(session)
        if queued:
            log.info("worker.swept", queued=queued)

    def _give_back(self, job: jobs.ClaimedJob, *, error: str, retry_in_s: float | None) -> None:
        try:
            with unit_of_work(bind=self.engine) as session:
                jobs.fail(
                    session, job_id=job.id, worker=self.name, error=error, retry_in_s=retry_in_s
                )
        except DatabaseUnavailableError:
            log.warning("job.fail_not_recorded", job_id=job.id)  # the lease will expire
        self.stats.failed += 1

    def run_job(self, job: jobs.ClaimedJob) -> None:
        started = time.perf_counter()
        if job.tries > self.settings.max_tries:
            log.error("job.gave_up", job_id=job.id, kind=job.kind, subject_id=job.subject_id)
            self._give_back(job, error=f"gave up after {job.tries - 1} tries", retry_in_s=None)
            return
        try:
            with unit_of_work(bind=self.engine) as session:
                detail = self._handle(session, job)
                if not jobs.complete(session, job_id=job.id, worker=self.name):
                    raise jobs.LeaseLost(f"job {job.id}: lease expired and was taken over")
        except jobs.LeaseLost:
            self.stats.lease_lost += 1
            log.warning("job.lease_lost", job_id=job.id, kind=job.kind, subject_id=job.subject_id)
            return
        except Exception as exc:  # - any failure: give the job back, keep the worker alive
            retry = None if job.tries >= self.settings.max_tries else RETRY_BACKOFF_S * job.tries
            log.exception("job.failed", job_id=job.id, kind=job.kind, retry_in_s=retry)
            self._give_back(job, error=f"{type(exc).__name__}: {exc}", retry_in_s=retry)
            return
        self.stats.done += 1
        self.stats.by_kind[job.kind] = self.stats.by_kind.get(job.kind, 0) + 1
        log.info(
            "job.done",
            job_id=job.id,
            kind=job.kind,
            subject_id=job.subject_id,
            tries=job.tries,
            ms=round((time.perf_counter() - started) * 1000, 1),
            **detail,
        )
        if self.on_job_done is not None:
            self.on_job_done(job)

    def _handle(self, session: Session, job: jobs.ClaimedJob) -> dict[str, object]:
        if job.kind == GRADE_ATTEMPT:
            outcome = grade_attempt(
                session,
                attempt_id=job.subject_id,
                review_threshold=self.settings.review_threshold,
            )
            return {
                "graded": outcome.graded,
                "flagged": outcome.flagged,
                "status": outcome.attempt_status,
            }
        if job.kind == ESTIMATE_ABILITY:
            return {"estimated": estimate_for_attempt(session, attempt_id=job.subject_id)}
        raise ValueError(f"unknown job kind {job.kind!r}")

    def run_once(self) -> int:
        """Claim one batch and run it; the number of jobs claimed."""
        claimed = self.claim()
        if self.hold is not None:
            self.hold.after_claim(self.name, claimed, self.stop_event)
        for job in claimed:
            if self.pause_after_claim_s:
                log.info("job.paused", job_id=job.id, seconds=self.pause_after_claim_s)
                time.sleep(self.pause_after_claim_s)
            self.run_job(job)
        return len(claimed)

    def run(self, *, drain: bool = False) -> WorkerStats:
        """Run until stopped (or, with ``drain``, until no job is due)."""
        if GRADE_ATTEMPT in self.kinds:
            log.info("grader.ready", seconds=round(warm_up_grader(), 2))
        log.info(
            "worker.started",
            worker=self.name,
            kinds=list(self.kinds),
            lease_s=self.settings.lease_seconds,
            batch=self.settings.batch_size,
        )
        next_sweep = 0.0
        while not self.stop_event.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    self.sweep()
                    next_sweep = time.monotonic() + self.settings.sweep_interval_seconds
                claimed = self.run_once()
            except DatabaseUnavailableError as exc:
                log.warning("worker.db_unavailable", error=str(exc).splitlines()[0])
                claimed = 0
            if claimed == 0:
                if drain:
                    break
                self.stop_event.wait(self.settings.poll_interval_seconds)
        log.info("worker.stopped", worker=self.name, done=self.stats.done, failed=self.stats.failed)
        return self.stats
