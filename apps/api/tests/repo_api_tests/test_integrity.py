"""Assessment integrity (issue 10): one attempt in progress per learner and assessment, under
racing starts and in the database itself; attempt limits; correct answers hidden while retakes
remain; close dates."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from repo_api_tests.helpers import ApiUser, assert_error, create_assessment, make_user
from repo_db import DuplicateError, unit_of_work
from repo_db.models import Assessment, Attempt

LEARNERS = 30
PARALLEL_STARTS = 20


def _start(client: TestClient, user: ApiUser, assessment_id: int) -> Any:
    return client.post(f"/assessments/{assessment_id}/attempts", headers=user.headers)


def test_racing_starts_leave_one_attempt_in_progress(client: TestClient, db_engine: Engine) -> None:
    """30 learners x 20 parallel "start attempt" calls: exactly one attempt each, no errors."""
    author = make_user(db_engine, role="author")
    assessment = create_assessment(client, author)
    learners = [make_user(db_engine) for _ in range(LEARNERS)]
    statuses: Counter[int] = Counter()
    ids_seen: dict[int, set[int]] = {}
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=PARALLEL_STARTS) as pool:
        for learner in learners:
            barrier = threading.Barrier(PARALLEL_STARTS)

            def start(learner: ApiUser = learner, barrier: threading.Barrier = barrier) -> Any:
                barrier.wait(timeout=30)
                return _start(client, learner, assessment["id"])

            responses = list(pool.map(lambda _: start(), range(PARALLEL_STARTS)))
            statuses.update(r.status_code for r in responses)
            ids_seen[learner.id] = {r.json()["id"] for r in responses if r.status_code < 300}
    elapsed = time.perf_counter() - began
    with unit_of_work(read_only=True, bind=db_engine) as session:
        rows = session.execute(
            select(Attempt.user_id, func.count())
            .where(Attempt.assessment_id == assessment["id"], Attempt.status == "in_progress")
            .group_by(Attempt.user_id)
        ).all()
    per_learner: dict[int, int] = {row[0]: row[1] for row in rows}
    print(
        f"\n[{db_engine.dialect.name}] {LEARNERS} learners x {PARALLEL_STARTS} parallel starts "
        f"in {elapsed:.1f}s: statuses {dict(statuses)}, in-progress attempts per learner "
        f"{sorted(Counter(per_learner.values()).items())}"
    )
    assert per_learner == {learner.id: 1 for learner in learners}
    # Every call answered with the one attempt (201 for the winner, 200 "resumed" for the rest).
    assert statuses == {201: LEARNERS, 200: LEARNERS * (PARALLEL_STARTS - 1)}, statuses
    assert all(len(ids) == 1 for ids in ids_seen.values()), ids_seen


def test_the_database_refuses_a_second_attempt_in_progress(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    assessment = create_assessment(client, author)
    assert _start(client, learner, assessment["id"]).status_code == 201
    with pytest.raises(DuplicateError), unit_of_work(bind=db_engine) as session:
        session.add(Attempt(assessment_id=assessment["id"], user_id=learner.id))
    # Finished attempts do not count: the index is partial (status = 'in_progress').
    with unit_of_work(bind=db_engine) as session:
        session.execute(update(Attempt).values(status="graded"))
        session.add(Attempt(assessment_id=assessment["id"], user_id=learner.id))
        session.add(Attempt(assessment_id=assessment["id"], user_id=learner.id, status="graded"))


def _finish(client: TestClient, learner: ApiUser, assessment: dict[str, Any]) -> dict[str, Any]:
    """Start, answer the single-choice question WRONGLY, submit; returns the submit body."""
    started = _start(client, learner, assessment["id"])
    assert started.status_code == 201, started.text
    attempt_id = started.json()["id"]
    single = assessment["questions"][0]
    url = f"/attempts/{attempt_id}/responses/{single['id']}"
    saved = client.put(
        url, json={"selected_option_ids": [single["options"][0]["id"]]}, headers=learner.headers
    )
    assert saved.status_code == 200 and saved.json()["is_correct"] is None
    submitted = client.post(f"/attempts/{attempt_id}/submit", headers=learner.headers)
    assert submitted.status_code == 200, submitted.text
    body: dict[str, Any] = submitted.json()
    return body


def _correctness_shown(body: dict[str, Any]) -> bool:
    questions = body["result"]["details"]["questions"]
    return any(q["is_correct"] is not None or q["score"] is not None for q in questions)


def test_attempt_limit_and_answers_after_the_last_attempt(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    assessment = create_assessment(client, author, max_attempts=2)
    assert assessment["max_attempts"] == 2
    assert assessment["show_answers"] == "after_last_attempt"

    first = _finish(client, learner, assessment)
    assert not _correctness_shown(first)  # a retake remains: nothing to harvest
    assert first["result"]["details"]["answers_hidden"] is True
    # Totals hidden too: with a retake left, the score of each try would tell which changed
    # answer was right (issue 16), so score, percent and passed are hidden like the details.
    assert first["result"]["score"] is None and first["result"]["percent"] is None
    assert first["result"]["passed"] is None and first["result"]["answers_visible"] is False
    assert first["result"]["status"] == "final"  # grading is complete; only the marks are hidden
    result_url = f"/attempts/{first['attempt']['id']}/result"
    again = client.get(result_url, headers=learner.headers).json()
    assert not _correctness_shown({"result": again})
    detail = client.get(f"/attempts/{first['attempt']['id']}", headers=learner.headers).json()
    assert all(r["is_correct"] is None and r["score"] is None for r in detail["responses"])
    # Admins always see everything.
    admin = make_user(db_engine, role="admin")
    by_admin = client.get(result_url, headers=admin.headers).json()
    assert by_admin["details"]["questions"][0]["is_correct"] is False

    second = _finish(client, learner, assessment)
    assert _correctness_shown(second)  # the last attempt: now the answers may be shown
    assert second["result"]["score"] == 0 and second["result"]["passed"] is False
    assert second["result"]["details"]["questions"][0]["is_correct"] is False
    # ...and the first attempt's result too.
    assert (
        client.get(result_url, headers=learner.headers).json()["details"]["questions"][0][
            "is_correct"
        ]
        is False
    )

    assert_error(_start(client, learner, assessment["id"]), 409, "no_attempts_left")


def test_unlimited_retakes_never_show_answers(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    assessment = create_assessment(client, author)  # defaults: unlimited, after_last_attempt
    assert assessment["max_attempts"] is None
    for _ in range(5):  # the harvest of issue 10 needed four
        assert not _correctness_shown(_finish(client, learner, assessment))


def test_show_answers_never_and_after_close(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    never = create_assessment(client, author, max_attempts=1, show_answers="never")
    assert not _correctness_shown(_finish(client, learner, never))

    closes = datetime.now(UTC) + timedelta(hours=1)
    closing = create_assessment(
        client, author, show_answers="after_close", closes_at=closes.isoformat()
    )
    done = _finish(client, learner, closing)
    assert not _correctness_shown(done)
    with unit_of_work(bind=db_engine) as session:
        session.execute(
            update(Assessment)
            .where(Assessment.id == closing["id"])
            .values(closes_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    result = client.get(f"/attempts/{done['attempt']['id']}/result", headers=learner.headers)
    assert result.json()["details"]["questions"][0]["is_correct"] is False
    assert_error(_start(client, learner, closing["id"]), 409, "closed")

    bad = {"title": "x", "questions": [], "show_answers": "after_close"}
    assert_error(client.post("/assessments", json=bad, headers=author.headers), 422)
    assert_error(
        client.post("/assessments", json={"title": "x", "max_attempts": 0}, headers=author.headers),
        422,
    )
