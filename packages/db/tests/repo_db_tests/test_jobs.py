"""The work queue on both databases: idempotent enqueue, disjoint concurrent claims, leases that
expire, completion only by the lease's owner."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select, update

from repo_db import InvalidQueryError, jobs, unit_of_work
from repo_db.models import Job


@pytest.fixture()
def queue(db_engine: Engine) -> Iterator[Engine]:
    """Committed units on the test database; the jobs table is emptied afterwards."""
    try:
        yield db_engine
    finally:
        with unit_of_work(bind=db_engine) as session:
            session.execute(delete(Job))


def _enqueue(engine: Engine, kind: str, ids: range) -> None:
    with unit_of_work(bind=engine) as session:
        for subject_id in ids:
            jobs.enqueue(session, kind=kind, subject_id=subject_id)


def test_enqueue_is_idempotent_and_requeues_finished_jobs(queue: Engine) -> None:
    _enqueue(queue, "grade", range(1, 4))
    _enqueue(queue, "grade", range(1, 4))
    with unit_of_work(bind=queue) as session:
        assert len(session.scalars(select(Job)).all()) == 3
        [job] = jobs.claim(session, kinds=["grade"], worker="w1", limit=1)
        assert (job.subject_id, job.tries) == (1, 1)
        assert jobs.complete(session, job_id=job.id, worker="w1")
    _enqueue(queue, "grade", range(1, 2))  # done -> queued again
    with unit_of_work(bind=queue) as session:
        row = session.scalars(select(Job).where(Job.subject_id == 1)).one()
        assert (row.status, row.tries) == ("queued", 0)


def test_enqueue_many_in_chunks_is_enqueue_for_each(
    queue: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "ENQUEUE_CHUNK", 2)  # 5 ids: three statements
    with unit_of_work(bind=queue) as session:
        jobs.enqueue_many(session, kind="grade", subject_ids=[3, 1, 2, 2, 5, 4])  # 2 twice
    with unit_of_work(bind=queue) as session:
        [running] = jobs.claim(session, kinds=["grade"], worker="w1", limit=1)
        [done] = jobs.claim(session, kinds=["grade"], worker="w1", limit=1)
        assert jobs.complete(session, job_id=done.id, worker="w1")
    with unit_of_work(bind=queue) as session:
        jobs.enqueue_many(session, kind="grade", subject_ids=range(1, 7))
    with unit_of_work(read_only=True, bind=queue) as session:
        rows = {j.subject_id: j.status for j in session.scalars(select(Job))}
    # One row per id; the finished job is queued again, the running one left alone.
    assert rows == {1: "running", 2: "queued", 3: "queued", 4: "queued", 5: "queued", 6: "queued"}
    assert (running.subject_id, done.subject_id) == (1, 2)
    with unit_of_work(read_only=True, bind=queue) as session, pytest.raises(InvalidQueryError):
        jobs.enqueue_many(session, kind="grade", subject_ids=[])


def test_enqueue_leaves_a_running_job_alone(queue: Engine) -> None:
    _enqueue(queue, "grade", range(1, 2))
    with unit_of_work(bind=queue) as session:
        [job] = jobs.claim(session, kinds=["grade"], worker="w1", limit=1)
    _enqueue(queue, "grade", range(1, 2))  # e.g. a re-submit while the worker grades
    with unit_of_work(bind=queue) as session:
        row = session.scalars(select(Job).where(Job.id == job.id)).one()
        assert (row.status, row.tries, row.lease_owner) == ("running", 1, "w1")


def test_concurrent_enqueues_of_one_job_make_one_row(queue: Engine) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def enqueue() -> None:
        try:
            barrier.wait()
            _enqueue(queue, "grade", range(7, 8))
        except BaseException as exc:  # - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with unit_of_work(bind=queue) as session:
        assert len(session.scalars(select(Job).where(Job.subject_id == 7)).all()) == 1


def test_enqueue_is_refused_in_a_read_only_unit(queue: Engine) -> None:
    with pytest.raises(InvalidQueryError), unit_of_work(read_only=True, bind=queue) as session:
        jobs.enqueue(session, kind="grade", subject_id=1)
    with unit_of_work(bind=queue) as session:
        assert session.scalars(select(Job)).all() == []


def test_claims_respect_kind_limit_and_leases(queue: Engine) -> None:
    _enqueue(queue, "grade", range(1, 6))
    _enqueue(queue, "estimate", range(1, 3))
    with unit_of_work(bind=queue) as session:
        first = jobs.claim(session, kinds=["grade"], worker="w1", limit=3, lease_s=60)
    with unit_of_work(bind=queue) as session:
        second = jobs.claim(session, kinds=["grade"], worker="w2", limit=10, lease_s=60)
        nothing = jobs.claim(session, kinds=["grade"], worker="w3", limit=10)
    assert [j.subject_id for j in first] == [1, 2, 3]
    assert [j.subject_id for j in second] == [4, 5]
    assert nothing == []
    assert {j.kind for j in first + second} == {"grade"}
    with unit_of_work(bind=queue) as session:
        # Only the owner completes; a stranger's complete/fail changes nothing.
        assert not jobs.complete(session, job_id=first[0].id, worker="w2")
        assert not jobs.fail(session, job_id=first[0].id, worker="w2", error="x", retry_in_s=0)
        assert jobs.complete(session, job_id=first[0].id, worker="w1")
        assert jobs.fail(session, job_id=first[1].id, worker="w1", error="boom", retry_in_s=0)
        assert jobs.fail(session, job_id=first[2].id, worker="w1", error="fatal", retry_in_s=None)
    with unit_of_work(bind=queue) as session:
        retried = jobs.claim(session, kinds=["grade"], worker="w2", limit=10)
        assert [(j.subject_id, j.tries) for j in retried] == [(2, 2)]
        rows = session.execute(select(Job.subject_id, Job.status).where(Job.kind == "grade"))
        statuses = {row.subject_id: row.status for row in rows}
    assert statuses == {1: "done", 2: "running", 3: "failed", 4: "running", 5: "running"}


def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_complete(queue: Engine) -> None:
    _enqueue(queue, "grade", range(1, 2))
    with unit_of_work(bind=queue) as session:
        [job] = jobs.claim(session, kinds=["grade"], worker="dead", lease_s=0.5)
    with unit_of_work(bind=queue) as session:
        assert jobs.claim(session, kinds=["grade"], worker="w2") == []  # lease still valid
    time.sleep(0.7)
    with unit_of_work(bind=queue) as session:
        [again] = jobs.claim(session, kinds=["grade"], worker="w2", lease_s=60)
    assert (again.id, again.tries, again.lease_owner) == (job.id, 2, "w2")
    with unit_of_work(bind=queue) as session:
        assert not jobs.complete(session, job_id=job.id, worker="dead")
        assert jobs.complete(session, job_id=job.id, worker="w2")


def test_concurrent_claimers_never_share_a_job(queue: Engine) -> None:
    _enqueue(queue, "grade", range(1, 61))
    taken: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def claimer(name: str) -> None:
        mine: list[int] = []
        try:
            while True:
                with unit_of_work(bind=queue) as session:
                    batch = jobs.claim(session, kinds=["grade"], worker=name, limit=3)
                if not batch:
                    break
                mine.extend(j.subject_id for j in batch)
        except BaseException as exc:  # - reported below
            errors.append(exc)
        taken[name] = mine

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    everything = [s for mine in taken.values() for s in mine]
    assert sorted(everything) == list(range(1, 61))  # each job exactly once
    with unit_of_work(bind=queue) as session:
        owners = session.execute(select(Job.lease_owner, Job.tries)).all()
    assert {tries for _owner, tries in owners} == {1}


def test_skip_locked_lets_a_second_claimer_pass_a_locked_job(queue: Engine) -> None:
    """PostgreSQL: a job locked by an open claim is skipped, not waited for. SQLite serialises
    writers instead, so there the second claim waits for the first unit and finds it taken."""
    _enqueue(queue, "grade", range(1, 3))
    with unit_of_work(bind=queue) as first:
        [a] = jobs.claim(first, kinds=["grade"], worker="w1", limit=1)
        if queue.dialect.name == "postgresql":
            with unit_of_work(bind=queue) as second:
                [b] = jobs.claim(second, kinds=["grade"], worker="w2", limit=1)
            assert (a.subject_id, b.subject_id) == (1, 2)
        else:
            assert a.subject_id == 1
    with unit_of_work(bind=queue) as session:
        session.execute(update(Job).values(status="done"))
        assert jobs.claim(session, kinds=["grade"], worker="w3") == []
