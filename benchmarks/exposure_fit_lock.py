"""How long another writer waits while an adaptive bank's Sympson-Hetter fit runs (issue 18).

On a new SQLite database (the default, writing units begin with ``BEGIN IMMEDIATE``), a
120-question adaptive bank (``repo_ai.simulation.simulated_bank``, r = 0.3), no fit stored:

* before (the old path, reproduced): the fit runs inside a writing unit, as the first start of
  a fresh bank ran it; a second thread tries to create a user meanwhile;
* now: the AI side's ``refit_exposure`` runs the fit; the same writer, and a first start of the
  fresh bank, run meanwhile.

Each writer starts once the fit has started (an event in the fit) and its wait to commit is
timed; a writer still locked out after the busy timeout (5 s) fails with "database is locked".

    nice -n 10 ./pants run benchmarks/exposure_fit_lock.py
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine

from repo_ai.simulation import simulated_bank
from repo_ai.work import refit_exposure
from repo_db import RepoDbError, unit_of_work
from repo_db.models import AnswerOption, Assessment, ItemParameter, Question, Role, User
from repo_db.testing import prepare_schema, temporary_database
from repo_domain import attempts, cat
from repo_domain.adaptive import exposure_fit_inputs
from repo_domain.cat import Bank, Policy, exposure_parameters
from repo_domain.common import Actor

N_ITEMS = 120


def _user(engine: Engine, name: str, role: str = "learner") -> Actor:
    with unit_of_work(bind=engine) as session:
        user = User(
            email=f"{name}@bench.test",
            password_hash="x",  # noqa: S106 - nobody logs in
            display_name=name,
            role=role,
        )
        session.add(user)
        session.flush()
        return Actor(id=user.id, role=Role(role))


def _bank(engine: Engine, author: Actor) -> int:
    bank = simulated_bank(N_ITEMS, seed=0)
    with unit_of_work(bind=engine) as session:
        assessment = Assessment(
            author_id=author.id, title="Bench", status="published", adaptive=True
        )
        session.add(assessment)
        session.flush()
        for i in range(N_ITEMS):
            q = Question(
                assessment_id=assessment.id, position=i, kind="single_choice", prompt=f"Q{i}"
            )
            session.add(q)
            session.flush()
            session.add_all(
                [
                    AnswerOption(question_id=q.id, position=1, text="yes", is_correct=True),
                    AnswerOption(question_id=q.id, position=2, text="no"),
                ]
            )
            item = bank.item(i)
            session.add(
                ItemParameter(
                    question_id=q.id,
                    difficulty=item.difficulty,
                    discrimination=item.discrimination,
                )
            )
        return assessment.id


def _timed(write: Callable[[], object]) -> str:
    started = time.perf_counter()
    try:
        write()
    except RepoDbError as exc:
        return f"failed after {time.perf_counter() - started:.2f} s ({exc})"
    return f"committed after {time.perf_counter() - started:.3f} s"


def _while_fitting(
    run_fit: Callable[[Callable[[Bank, Policy], NDArray[np.float64] | None]], object],
    writers: dict[str, Callable[[], object]],
) -> tuple[float, dict[str, str]]:
    """Run ``run_fit`` with a fit that signals when it starts; run each writer meanwhile."""
    started = threading.Event()
    seconds: list[float] = []

    def fit(bank: Bank, policy: Policy) -> NDArray[np.float64] | None:
        started.set()
        begun = time.perf_counter()
        k = exposure_parameters(bank, policy)
        seconds.append(time.perf_counter() - begun)
        return k

    cat._cached_fit.cache_clear()  # every run fits for real
    fitter = threading.Thread(target=run_fit, args=(fit,))
    fitter.start()
    started.wait()
    results = {name: _timed(write) for name, write in writers.items()}
    fitter.join()
    return seconds[0], results


def main() -> int:
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp, temporary_database("sqlite", Path(tmp)) as engine:
        prepare_schema(engine)
        author = _user(engine, "author", "author")
        assessment_id = _bank(engine, author)
        learner = _user(engine, "learner")

        def old_path(fit: Callable[[Bank, Policy], NDArray[np.float64] | None]) -> None:
            # What a first start of a fresh bank did before: the fit inside its writing unit.
            with unit_of_work(bind=engine) as session:
                inputs = exposure_fit_inputs(session, assessment_id=assessment_id)
                assert inputs is not None
                fit(inputs.bank, inputs.policy)

        def new_path(fit: Callable[[Bank, Policy], NDArray[np.float64] | None]) -> None:
            refit_exposure(engine, assessment_id=assessment_id, fit=fit)

        def other_writer(name: str) -> Callable[[], object]:
            return lambda: _user(engine, name)

        def first_start() -> object:
            with unit_of_work(bind=engine) as session:
                return attempts.start_attempt(session, actor=learner, assessment_id=assessment_id)

        before_s, before = _while_fitting(old_path, {"another writer": other_writer("w1")})
        after_s, after = _while_fitting(
            new_path,
            {"another writer": other_writer("w2"), "first start of the fresh bank": first_start},
        )
    print(f"before: the fit ({before_s:.2f} s) inside a writing unit")
    for name, result in before.items():
        print(f"  {name}: {result}")
    print(f"now: the fit ({after_s:.2f} s) in refit_exposure, no transaction open")
    for name, result in after.items():
        print(f"  {name}: {result}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
