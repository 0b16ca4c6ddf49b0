"""Adaptive tests' exposure counters on both databases: starts count one by one, a claim counts
only while it fits under its cap, and concurrent claims from many connections never overshoot.
The stored Sympson-Hetter fits: read back only under the key they were stored for, replaced by
a newer fit, refused in a read-only unit, removed with their assessment."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select

from repo_db import InvalidQueryError, exposure, unit_of_work
from repo_db.models import (
    AdaptiveStarts,
    Assessment,
    ExposureFit,
    Question,
    QuestionExposure,
    User,
)


@pytest.fixture()
def bank(db_engine: Engine) -> Iterator[tuple[Engine, int, list[int]]]:
    """An assessment with three questions (committed); removed afterwards with its counters."""
    with unit_of_work(bind=db_engine) as session:
        author = User(email="exposure-author@example.com", password_hash="x", display_name="A")
        session.add(author)
        session.flush()
        assessment = Assessment(author_id=author.id, title="Exposure", adaptive=True)
        session.add(assessment)
        session.flush()
        questions = [
            Question(assessment_id=assessment.id, position=i, kind="free_text", prompt=f"Q{i}")
            for i in range(3)
        ]
        session.add_all(questions)
        session.flush()
        ids = (author.id, assessment.id, [q.id for q in questions])
    try:
        yield db_engine, ids[1], ids[2]
    finally:
        with unit_of_work(bind=db_engine) as session:
            session.execute(delete(QuestionExposure))
            session.execute(delete(AdaptiveStarts))
            session.execute(delete(ExposureFit))
            session.execute(delete(Assessment).where(Assessment.id == ids[1]))  # and questions
            session.execute(delete(User).where(User.id == ids[0]))


def test_starts_count_one_by_one(bank: tuple[Engine, int, list[int]]) -> None:
    engine, assessment_id, _ = bank
    with unit_of_work(bind=engine) as session:
        assert exposure.started(session, assessment_id=assessment_id) == 0
        # Breaks if the upsert does not add to an existing row (or does not create one).
        assert [exposure.count_start(session, assessment_id=assessment_id) for _ in range(3)] == [
            1,
            2,
            3,
        ]
    with unit_of_work(bind=engine, read_only=True) as session:
        assert exposure.started(session, assessment_id=assessment_id) == 3


def test_a_claim_counts_only_under_its_cap(bank: tuple[Engine, int, list[int]]) -> None:
    engine, _, (q1, q2, q3) = bank
    with unit_of_work(bind=engine) as session:
        # Breaks if the WHERE were dropped (every claim counted) or checked served < cap - 1.
        assert [exposure.claim(session, question_id=q1, cap=2) for _ in range(4)] == [
            True,
            True,
            False,
            False,
        ]
        assert exposure.claim(session, question_id=q2, cap=0) is False  # no room at all
        assert exposure.claim(session, question_id=q3, cap=None)  # no cap: always counted
        assert exposure.claim(session, question_id=q3, cap=None)
        assert exposure.served(session, question_ids=[q1, q2, q3]) == {q1: 2, q2: 0, q3: 2}
        assert exposure.claim(session, question_id=q3, cap=3)  # a larger N later: room again
        assert not exposure.claim(session, question_id=q3, cap=3)
    with unit_of_work(bind=engine, read_only=True) as session:
        assert exposure.served(session, question_ids=[q3]) == {q3: 3}


def test_a_rolled_back_claim_is_not_counted(bank: tuple[Engine, int, list[int]]) -> None:
    engine, _, (q1, _q2, _q3) = bank
    with pytest.raises(RuntimeError), unit_of_work(bind=engine) as session:
        assert exposure.claim(session, question_id=q1, cap=5)
        raise RuntimeError("the serve failed after its claim")
    with unit_of_work(bind=engine, read_only=True) as session:
        assert exposure.served(session, question_ids=[q1]) == {q1: 0}


def test_counters_refuse_a_read_only_unit(bank: tuple[Engine, int, list[int]]) -> None:
    engine, assessment_id, (q1, _q2, _q3) = bank
    with pytest.raises(InvalidQueryError), unit_of_work(read_only=True, bind=engine) as session:
        exposure.claim(session, question_id=q1, cap=5)
    with pytest.raises(InvalidQueryError), unit_of_work(read_only=True, bind=engine) as session:
        exposure.count_start(session, assessment_id=assessment_id)


def test_concurrent_claims_never_overshoot(bank: tuple[Engine, int, list[int]]) -> None:
    """8 threads, each with its own connection and one short unit per claim, race 25 claims
    each for a question capped at 60: exactly 60 succeed and the counter reads 60. Breaks if the
    check and the increment were two statements (read served, then write served + 1): racing
    units would both see room and both count (on PostgreSQL; SQLite serializes the writers)."""
    engine, _, (q1, _q2, _q3) = bank
    cap, threads_n, tries = 60, 8, 25
    barrier = threading.Barrier(threads_n)
    won: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def race() -> None:
        try:
            barrier.wait()
            mine = 0
            for _ in range(tries):
                with unit_of_work(bind=engine) as session:
                    mine += exposure.claim(session, question_id=q1, cap=cap)
            with lock:
                won.append(mine)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    workers = [threading.Thread(target=race) for _ in range(threads_n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert sum(won) == cap
    with unit_of_work(bind=engine, read_only=True) as session:
        assert exposure.served(session, question_ids=[q1]) == {q1: cap}


def test_a_stored_fit_is_read_back_under_its_key_only(bank: tuple[Engine, int, list[int]]) -> None:
    engine, assessment_id, _ = bank
    k = [0.25, 1.0, 0.1 + 0.2]  # 0.30000000000000004: the exact double comes back
    with unit_of_work(bind=engine, read_only=True) as session:
        assert exposure.stored_fit(session, assessment_id=assessment_id, fit_key="a" * 64) is None
    with unit_of_work(bind=engine) as session:
        exposure.save_fit(session, assessment_id=assessment_id, fit_key="a" * 64, k=k, seconds=2.5)
    with unit_of_work(bind=engine, read_only=True) as session:
        assert exposure.stored_fit(session, assessment_id=assessment_id, fit_key="a" * 64) == k
        # Another bank or policy (another key): the stored fit is stale, not served.
        assert exposure.stored_fit(session, assessment_id=assessment_id, fit_key="b" * 64) is None
    with unit_of_work(bind=engine) as session:  # a newer fit replaces the row
        exposure.save_fit(
            session, assessment_id=assessment_id, fit_key="b" * 64, k=[0.5, 0.5, 0.5], seconds=1.0
        )
    with unit_of_work(bind=engine, read_only=True) as session:
        assert exposure.stored_fit(session, assessment_id=assessment_id, fit_key="a" * 64) is None
        assert exposure.stored_fit(session, assessment_id=assessment_id, fit_key="b" * 64) == [
            0.5,
            0.5,
            0.5,
        ]
        rows = session.scalars(select(ExposureFit)).all()
        assert [(r.assessment_id, r.seconds) for r in rows] == [(assessment_id, 1.0)]
    with pytest.raises(InvalidQueryError), unit_of_work(read_only=True, bind=engine) as session:
        exposure.save_fit(session, assessment_id=assessment_id, fit_key="c" * 64, k=k, seconds=1)
    with unit_of_work(bind=engine) as session:  # the fit goes with its assessment
        session.execute(delete(Assessment).where(Assessment.id == assessment_id))
    with unit_of_work(bind=engine, read_only=True) as session:
        assert session.scalars(select(ExposureFit)).all() == []
