"""The jobs the worker runs: grade an attempt's free text, re-estimate a learner's ability,
calibrate an assessment's items, fit an adaptive assessment's exposure control. Each takes a
unit-of-work session and does its writes in it, except the exposure fit (``refit_exposure``):
its seconds of simulation run between two short units, with no transaction open."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import structlog
from numpy.typing import NDArray
from sqlalchemy import Engine, Select, literal, select
from sqlalchemy.orm import Session

from repo_ai.ability import estimate_ability
from repo_ai.calibration import fit_2pl
from repo_ai.clustering import assign_review_clusters
from repo_ai.grading import MODEL_VERSION, Rubric, grade_answer
from repo_ai.grading_reviews import MIN_REVIEWS
from repo_ai.store import (
    latest_calibration_id,
    load_responses,
    reviewed_answers,
    save_ability,
    save_calibration,
)
from repo_db import DatabaseUnavailableError, exposure, jobs, unit_of_work
from repo_db.models import (
    Assessment,
    Attempt,
    AttemptStatus,
    Feedback,
    FeedbackSource,
    GradingStatus,
    Job,
    Question,
    QuestionKind,
    Response,
)
from repo_domain import adaptive, grading
from repo_domain.cat import Bank, Policy, exposure_parameters

GRADE_ATTEMPT = grading.GRADE_ATTEMPT
ESTIMATE_ABILITY = grading.ESTIMATE_ABILITY
FIT_EXPOSURE = adaptive.FIT_EXPOSURE
KINDS = (GRADE_ATTEMPT, ESTIMATE_ABILITY)
log = structlog.get_logger("repo_ai.work")
#: An item is calibrated only from this many answers, with both right and wrong ones among them.
MIN_RESPONSES_PER_ITEM = 20
MIN_LEARNERS = 50


@dataclass(frozen=True)
class GradeOutcome:
    graded: int
    flagged: int
    attempt_status: str | None


def grade_attempt(session: Session, *, attempt_id: int, review_threshold: float) -> GradeOutcome:
    """AI-grade the attempt's pending free-text answers and refresh its result."""
    attempt = session.scalar(select(Attempt).where(Attempt.id == attempt_id).with_for_update())
    if attempt is None or attempt.status != AttemptStatus.GRADING:
        return GradeOutcome(0, 0, attempt.status if attempt else None)
    pending = session.execute(
        select(Response, Question)
        .join(Question, Question.id == Response.question_id)
        .where(
            Response.attempt_id == attempt.id,
            Response.grading_status == GradingStatus.PENDING,
            Question.kind == QuestionKind.FREE_TEXT,
        )
        .order_by(Response.id)
    ).all()
    flagged: list[tuple[Feedback, Response]] = []
    reviews: dict[int, list[tuple[str, float]]] = {}
    for response, question in pending:
        if question.id not in reviews:  # the author's grades of this question's answers
            reviews[question.id] = reviewed_answers(session, question.id)
        reviewed = reviews[question.id]
        grade = grade_answer(
            Rubric.of(question.reference_answer, question.rubric_keywords),
            response.text_value or "",
            reviewed,
        )
        needs_review = grade.confidence < review_threshold
        feedback = grading.record_grade(
            session,
            response=response,
            question=question,
            fraction=grade.fraction,
            comment=grade.feedback,
            source=FeedbackSource.AI,
            model_version=(
                f"{MODEL_VERSION}+reviews:{len(reviewed)}"
                if len(reviewed) >= MIN_REVIEWS
                else MODEL_VERSION
            ),
            confidence=grade.confidence,
            needs_review=needs_review,
        )
        if needs_review:
            flagged.append((feedback, response))
    assign_review_clusters(session, flagged)  # one author decision per group of look-alikes
    grading.refresh_result(session, attempt_id=attempt.id)
    return GradeOutcome(len(pending), len(flagged), attempt.status)


def estimate_for_attempt(session: Session, *, attempt_id: int) -> bool:
    """Re-estimate the learner's ability on the attempt's assessment from this graded attempt."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.status != AttemptStatus.GRADED:
        return False
    rows = session.execute(
        select(Response.question_id, Response.is_correct).where(
            Response.attempt_id == attempt.id, Response.is_correct.is_not(None)
        )
    ).all()
    params = adaptive.load_item_params(session, [r.question_id for r in rows])
    estimate = estimate_ability(
        [bool(r.is_correct) for r in rows], [params[r.question_id] for r in rows]
    )
    save_ability(
        session,
        user_id=attempt.user_id,
        assessment_id=attempt.assessment_id,
        estimate=estimate,
        calibration_id=latest_calibration_id(session, attempt.assessment_id),
    )
    return True


@dataclass(frozen=True)
class CalibrationOutcome:
    assessment_id: int
    calibration_id: int | None
    n_learners: int
    n_items: int
    n_responses: int
    reason: str


def calibrate_assessment(
    session: Session, *, assessment_id: int, reestimate: bool = True
) -> CalibrationOutcome:
    """Fit the 2PL model to the assessment's graded answers; store a new calibration version."""
    data = load_responses(session, assessment_id)
    n_learners = len(data.attempt_ids)
    if n_learners < MIN_LEARNERS:
        return CalibrationOutcome(
            assessment_id, None, n_learners, 0, len(data.correct), "too few graded attempts"
        )
    n_items = len(data.question_ids)
    counts = np.bincount(data.item, minlength=n_items)
    rights = np.bincount(data.item, weights=data.correct, minlength=n_items)
    keep = (counts >= MIN_RESPONSES_PER_ITEM) & (rights > 0) & (rights < counts)
    if not keep.any():
        return CalibrationOutcome(
            assessment_id, None, n_learners, 0, len(data.correct), "no item has enough answers"
        )
    fit = fit_2pl(data.learner, data.item, data.correct, n_items=n_items)
    calibration = save_calibration(
        session,
        assessment_id=assessment_id,
        question_ids=data.question_ids,
        fit=fit,
        keep=keep,
    )
    if reestimate:
        for attempt_id in data.attempt_ids:
            jobs.enqueue(session, kind=ESTIMATE_ABILITY, subject_id=attempt_id)
    return CalibrationOutcome(
        assessment_id, calibration.id, n_learners, int(keep.sum()), len(data.correct), "ok"
    )


def assessments_to_calibrate(session: Session) -> list[int]:
    return list(session.scalars(select(Assessment.id).order_by(Assessment.id)))


def grading_sweep_statement() -> Select[tuple[int]]:
    """The attempts in `grading` without a grading job.

    The status is sent as a literal, not a parameter: only then can every plan (SQLite's, and
    PostgreSQL's generic plan of a prepared statement) use the partial index on the attempts
    in grading (`ix_attempts_grading_id`) instead of reading every attempt.
    """
    has_job = select(Job.id).where(Job.kind == GRADE_ATTEMPT, Job.subject_id == Attempt.id).exists()
    grading = literal(AttemptStatus.GRADING.value, literal_execute=True)
    return select(Attempt.id).where(Attempt.status == grading, ~has_job)


def sweep_grading(session: Session) -> int:
    """Queue a grading job for every attempt in `grading` that has none (e.g. submitted before
    the queue existed, or written by a seeder); failed jobs stay failed until re-queued by hand."""
    ids = list(session.scalars(grading_sweep_statement()))
    for attempt_id in ids:
        jobs.enqueue(session, kind=GRADE_ATTEMPT, subject_id=attempt_id)
    return len(ids)


@dataclass(frozen=True)
class ExposureFitOutcome:
    assessment_id: int
    fitted: bool  # False: nothing to fit (not adaptive, no exposure control, already stored)
    seconds: float = 0.0
    error: str | None = None


#: A fit job that failed this many times stays failed; before that it is retried after
#: FIT_RETRY_S times its tries so far.
FIT_TRIES = 3
FIT_RETRY_S = 5.0


#: The fit itself (``repo_domain.cat.exposure_parameters``); tests pass one they can observe.
Fit = Callable[[Bank, Policy], NDArray[np.float64] | None]


def refit_exposure(
    engine: Engine | None, *, assessment_id: int, fit: Fit = exposure_parameters
) -> ExposureFitOutcome:
    """Fit and store the assessment's Sympson-Hetter parameters for its current bank and
    policy, unless a fit for them is stored already. Opens its own units: a read-only one for
    the bank (no write lock), none while the fit runs (seconds), and a short writing one to
    store the K_i under the key they were fitted for (if the bank or policy changed meanwhile,
    that key is already stale and serves keep the provisional K_i until the next fit)."""
    with unit_of_work(bind=engine, read_only=True, fresh=True) as session:
        inputs = adaptive.exposure_fit_inputs(session, assessment_id=assessment_id)
    if inputs is None or inputs.control.fitted:
        return ExposureFitOutcome(assessment_id, fitted=False)
    started = time.perf_counter()
    k = fit(inputs.bank, inputs.policy)
    seconds = time.perf_counter() - started
    assert k is not None  # exposure_fit_inputs returns only banks under exposure control
    with unit_of_work(bind=engine) as session:
        exposure.save_fit(
            session,
            assessment_id=assessment_id,
            fit_key=inputs.control.key,
            k=k.tolist(),
            seconds=seconds,
        )
    return ExposureFitOutcome(assessment_id, fitted=True, seconds=seconds)


def run_exposure_fit_jobs(
    engine: Engine | None, *, worker: str, lease_s: float = jobs.DEFAULT_LEASE_S
) -> list[ExposureFitOutcome]:
    """Run the queued ``FIT_EXPOSURE`` jobs (queued by a serve that found no stored fit) one at
    a time until none is due: claim in one short unit, fit with no unit open
    (``refit_exposure``), complete in another. A job that fails is given back for a retry."""
    outcomes: list[ExposureFitOutcome] = []
    while True:
        with unit_of_work(bind=engine) as session:
            claimed = jobs.claim(session, kinds=[FIT_EXPOSURE], worker=worker, lease_s=lease_s)
        if not claimed:
            return outcomes
        job = claimed[0]
        try:
            outcome = refit_exposure(engine, assessment_id=job.subject_id)
        except Exception as exc:  # given back (retried later, or failed for good), not raised
            error = f"{type(exc).__name__}: {exc}"
            with unit_of_work(bind=engine) as session:
                jobs.fail(
                    session,
                    job_id=job.id,
                    worker=worker,
                    error=error,
                    retry_in_s=None if job.tries >= FIT_TRIES else FIT_RETRY_S * job.tries,
                )
            outcomes.append(ExposureFitOutcome(job.subject_id, fitted=False, error=error))
            continue
        with unit_of_work(bind=engine) as session:
            jobs.complete(session, job_id=job.id, worker=worker)
        outcomes.append(outcome)


def run_exposure_fits(
    engine: Engine | None, *, worker: str, stop: threading.Event, interval_s: float
) -> None:
    """``run_exposure_fit_jobs`` every ``interval_s`` until ``stop`` is set: the worker process
    runs it in a thread next to the job loop (``repo_ai.cli.worker``), whose jobs each run
    inside one unit of work, where a fit must not run."""
    while not stop.is_set():
        try:
            for outcome in run_exposure_fit_jobs(engine, worker=worker):
                log.info(
                    "exposure_fit.done",
                    assessment_id=outcome.assessment_id,
                    fitted=outcome.fitted,
                    seconds=round(outcome.seconds, 2),
                    error=outcome.error,
                )
        except DatabaseUnavailableError as exc:
            log.warning("exposure_fit.db_unavailable", error=str(exc).splitlines()[0])
        stop.wait(interval_s)


def adaptive_assessments(session: Session) -> list[int]:
    """The adaptive assessments, whose exposure control the worker fits."""
    return list(
        session.scalars(
            select(Assessment.id).where(Assessment.adaptive.is_(True)).order_by(Assessment.id)
        )
    )
