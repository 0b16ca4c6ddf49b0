"""The Sympson-Hetter fit runs outside any request's transaction (issue 18), on both databases.

A start or a save never fits: with no stored fit for the bank and policy, attempts are served
under the hard cap alone (the provisional K_i = 1) and a ``fit_exposure`` job is queued; the AI
side fits with no transaction open and stores the K_i under the key of the bank and policy they
were fitted for.
While a fit is running (held on an event, so the test does not depend on how long it takes),
other writers, a first start of the same fresh bank included, commit: nothing holds the write
lock (SQLite) or a row lock (PostgreSQL) for the fit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import Engine, select, update

from repo_ai.work import (
    FIT_EXPOSURE,
    Fit,
    refit_exposure,
    run_exposure_fit_jobs,
    run_exposure_fits,
)
from repo_ai_tests.helpers import calibrated_bank, make_user, wiped
from repo_db import unit_of_work
from repo_db.models import Assessment, Job, JobStatus
from repo_domain import attempts, cat
from repo_domain.adaptive import exposure_fit_inputs
from repo_domain.attempts import Answer
from repo_domain.cat import Bank, Policy, exposure_parameters, fit_target, next_item
from repo_domain.common import Actor

N_QUESTIONS = 40  # 0.3 x 40 = 12 >= EXPOSURE_MIN_POOL: exposure control applies
RATE = 0.3
#: How long a writer may take while a fit is held (it takes milliseconds when nothing holds a
#: lock; a fit holding one would keep it until released, after this bound).
WRITER_BOUND_S = 30.0


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


def _bank(engine: Engine) -> tuple[int, dict[int, int]]:
    """A fresh published adaptive assessment under exposure control, no fit stored:
    (id, question id -> right option)."""
    return calibrated_bank(
        engine,
        questions=N_QUESTIONS,
        discrimination=1.3,
        title="Fresh bank",
        adaptive_max_length=5,
        adaptive_max_exposure=RATE,
    )


def _start(engine: Engine, learner: Actor, assessment_id: int) -> tuple[int, int | None]:
    with unit_of_work(bind=engine) as session:
        attempt, _ = attempts.start_attempt(session, actor=learner, assessment_id=assessment_id)
        return attempt.id, attempt.served_question_id


def _fit_jobs(engine: Engine) -> list[tuple[int, str]]:
    with unit_of_work(bind=engine, read_only=True) as session:
        rows = session.execute(
            select(Job.subject_id, Job.status).where(Job.kind == FIT_EXPOSURE)
        ).all()
    return [(subject, str(status)) for subject, status in rows]


def test_a_start_and_a_save_never_fit(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fit's simulation refuses to run: starting and answering on a fresh bank still work,
    served with the provisional K_i = 1, and one fit job is queued for the assessment."""
    assessment_id, right = _bank(engine)

    def no_fit(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a request ran the Sympson-Hetter fit")

    monkeypatch.setattr(cat, "run_batch", no_fit)  # the fit's inner loop
    cat._cached_fit.cache_clear()  # nor may a fit cached by an earlier test hide one
    with unit_of_work(bind=engine, read_only=True) as session:
        inputs = exposure_fit_inputs(session, assessment_id=assessment_id)
    assert inputs is not None and not inputs.control.fitted
    assert inputs.control.k is not None and set(inputs.control.k.tolist()) == {1.0}
    # With every K_i = 1 the first question is the most informative one at the prior, for the
    # first ceil(1/r) - 1 = 3 learners (the cap); fitted K_i would send some of them elsewhere.
    top, _reason = next_item(
        inputs.bank, asked=[], scored={}, policy=inputs.policy, k=None, key=(0,)
    )
    assert top is not None
    for learner in [make_user(engine) for _ in range(3)]:
        attempt_id, first = _start(engine, learner, assessment_id)
        assert first == inputs.bank.ids[top]
        with unit_of_work(bind=engine) as session:
            attempts.save_response(
                session,
                actor=learner,
                attempt_id=attempt_id,
                question_id=first,
                answer=Answer(selected_option_ids=[right[first]]),
            )
            following = attempts.next_question(session, actor=learner, attempt_id=attempt_id)
        assert following.question_id not in (None, first)
    assert _fit_jobs(engine) == [(assessment_id, JobStatus.QUEUED)]  # one job, queued once


def _observed_fit(
    entered: threading.Event, release: threading.Event
) -> tuple[list[NDArray[np.float64]], Fit]:
    """A fit that signals ``entered`` and waits for ``release`` before computing the real K_i."""
    results: list[NDArray[np.float64]] = []

    def fit(bank: Bank, policy: Policy) -> NDArray[np.float64] | None:
        entered.set()
        assert release.wait(120), "the test never released the fit"
        k = exposure_parameters(bank, policy)
        assert k is not None
        results.append(k)
        return k

    return results, fit


def test_writers_commit_while_a_fit_runs(engine: Engine) -> None:
    assessment_id, _right = _bank(engine)
    entered, release = threading.Event(), threading.Event()
    fitted, fit = _observed_fit(entered, release)
    errors: list[BaseException] = []

    def run_fit() -> None:
        try:
            outcome = refit_exposure(engine, assessment_id=assessment_id, fit=fit)
            assert outcome.fitted
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    fitter = threading.Thread(target=run_fit)
    fitter.start()
    try:
        assert entered.wait(120), "the fit never started"
        learner = make_user(engine)  # made before: the writer below is timed alone
        done: list[object] = []

        def write() -> None:
            try:
                # A first start of the fresh bank, and an edit of the row the fit read.
                done.append(_start(engine, learner, assessment_id))
                with unit_of_work(bind=engine) as session:
                    session.execute(
                        update(Assessment)
                        .where(Assessment.id == assessment_id)
                        .values(title="Renamed while the fit runs")
                    )
                done.append("edited")
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(WRITER_BOUND_S)
        # Breaks if the fit held a transaction: the writer would wait for the fit, which waits
        # for this line's release.
        assert not writer.is_alive() and errors == [], errors
        assert len(done) == 2 and not fitted  # both writes committed, the fit still held
    finally:
        release.set()
        fitter.join()
    assert errors == []
    with unit_of_work(bind=engine, read_only=True) as session:
        inputs = exposure_fit_inputs(session, assessment_id=assessment_id)
    assert inputs is not None and inputs.control.fitted
    assert inputs.control.k is not None and np.array_equal(inputs.control.k, fitted[0])
    # The stored K_i are a real fit: some items held back (K_i < 1), none below the target t.
    assert fit_target(RATE) - 1e-12 <= inputs.control.k.min() < 1.0 == inputs.control.k.max()


def test_a_changed_limit_is_served_provisionally_until_refitted(engine: Engine) -> None:
    """A stored fit is used only for the bank and policy it was fitted for: after the author
    changes the maximum length the serve is provisional again and queues a job; the job runner
    fits (outside any transaction) and the next start is served with the new fit."""
    assessment_id, _right = _bank(engine)
    assert refit_exposure(engine, assessment_id=assessment_id).fitted
    assert not refit_exposure(engine, assessment_id=assessment_id).fitted  # stored already
    _start(engine, make_user(engine), assessment_id)
    assert _fit_jobs(engine) == []  # served with the stored fit: nothing queued
    with unit_of_work(bind=engine) as session:
        session.execute(
            update(Assessment).where(Assessment.id == assessment_id).values(adaptive_max_length=8)
        )
    with unit_of_work(bind=engine, read_only=True) as session:
        inputs = exposure_fit_inputs(session, assessment_id=assessment_id)
    assert inputs is not None and not inputs.control.fitted
    assert inputs.control.k is not None and set(inputs.control.k.tolist()) == {1.0}
    _start(engine, make_user(engine), assessment_id)
    assert _fit_jobs(engine) == [(assessment_id, JobStatus.QUEUED)]
    outcomes = run_exposure_fit_jobs(engine, worker="test")
    assert [(o.assessment_id, o.fitted, o.error) for o in outcomes] == [(assessment_id, True, None)]
    assert _fit_jobs(engine) == [(assessment_id, JobStatus.DONE)]
    with unit_of_work(bind=engine, read_only=True) as session:
        inputs = exposure_fit_inputs(session, assessment_id=assessment_id)
    assert inputs is not None and inputs.control.fitted and inputs.control.k is not None
    assert inputs.policy.max_length == 8
    expected = exposure_parameters(inputs.bank, inputs.policy)
    assert expected is not None and np.array_equal(inputs.control.k, expected)
    _start(engine, make_user(engine), assessment_id)
    assert _fit_jobs(engine) == [(assessment_id, JobStatus.DONE)]  # not queued again


def test_the_worker_thread_runs_queued_fits_until_stopped(engine: Engine) -> None:
    """``run_exposure_fits``, the loop the worker process runs in a thread: a fit job queued by
    a start is run (and the next start served with the stored fit); setting the worker's stop
    event ends the loop."""
    assessment_id, _right = _bank(engine)
    _start(engine, make_user(engine), assessment_id)
    assert _fit_jobs(engine) == [(assessment_id, JobStatus.QUEUED)]
    stop = threading.Event()
    loop = threading.Thread(
        target=run_exposure_fits,
        args=(engine,),
        kwargs={"worker": "test", "stop": stop, "interval_s": 0.05},
    )
    loop.start()
    try:
        for _poll in range(1200):  # up to 60 s: the fit takes about a second
            if _fit_jobs(engine) == [(assessment_id, JobStatus.DONE)]:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        loop.join(60)
    assert not loop.is_alive()
    assert _fit_jobs(engine) == [(assessment_id, JobStatus.DONE)]
    with unit_of_work(bind=engine, read_only=True) as session:
        inputs = exposure_fit_inputs(session, assessment_id=assessment_id)
    assert inputs is not None and inputs.control.fitted
