"""Attempts: start/resume, idempotent saves, exactly-once submit (raced), scoring, results,
history, per-assessment statistics, and who may touch which attempt."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from repo_api_tests.helpers import ApiUser, assert_error, create_assessment, make_user
from repo_db import unit_of_work
from repo_db.models import Attempt, Response, Result
from repo_domain.validation import TEXT_ANSWER_MAX


def _start(client: TestClient, user: ApiUser, assessment_id: int) -> dict[str, Any]:
    response = client.post(f"/assessments/{assessment_id}/attempts", headers=user.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def _answer_all_correctly(
    client: TestClient, user: ApiUser, attempt_id: int, assessment: dict[str, Any]
) -> None:
    single, multi, numeric, free = assessment["questions"]
    answers = {
        single["id"]: {"selected_option_ids": [single["options"][1]["id"]]},
        multi["id"]: {
            "selected_option_ids": [multi["options"][2]["id"], multi["options"][0]["id"]]
        },
        numeric["id"]: {"numeric_value": 42.4},
        free["id"]: {"text_value": "It calls itself."},
    }
    for question_id, body in answers.items():
        url = f"/attempts/{attempt_id}/responses/{question_id}"
        assert client.put(url, json=body, headers=user.headers).status_code == 200


def test_full_attempt_scores_objective_and_queues_free_text(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    # One attempt: once it is submitted, show_answers (after_last_attempt) shows the scores.
    assessment = create_assessment(client, author, pass_percent=50, max_attempts=1)
    attempt = _start(client, learner, assessment["id"])
    assert attempt["status"] == "in_progress" and attempt["user_id"] == learner.id
    resumed = client.post(f"/assessments/{assessment['id']}/attempts", headers=learner.headers)
    assert resumed.status_code == 200 and resumed.json()["id"] == attempt["id"]

    _answer_all_correctly(client, learner, attempt["id"], assessment)
    submitted = client.post(f"/attempts/{attempt['id']}/submit", headers=learner.headers)
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["attempt"]["status"] == "grading"  # free text waits for the AI worker
    result = body["result"]
    assert result["score"] == 6 and result["max_score"] == 10 and result["percent"] == 60
    # Pending, not provisionally passed: the free-text answer has no grade yet.
    assert result["passed"] is None and result["status"] == "pending"
    assert result["details"]["pending"] == 1

    with unit_of_work(bind=db_engine) as session:
        rows = session.execute(
            select(Response.question_id, Response.grading_status).where(
                Response.attempt_id == attempt["id"]
            )
        ).tuples()
        statuses: dict[int, str] = dict(rows.all())
    free_id = assessment["questions"][3]["id"]
    assert statuses.pop(free_id) == "pending"
    assert set(statuses.values()) == {"not_required"}

    assert client.get(f"/attempts/{attempt['id']}/result", headers=learner.headers).json() == result
    assert_error(client.post(f"/attempts/{attempt['id']}/submit", headers=learner.headers), 409)
    single = assessment["questions"][0]
    late = client.put(
        f"/attempts/{attempt['id']}/responses/{single['id']}",
        json={"selected_option_ids": [single["options"][0]["id"]]},
        headers=learner.headers,
    )
    assert_error(late, 409, "already_submitted")


def test_wrong_answers_score_zero_and_objective_only_is_graded(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    assessment = create_assessment(client, author)
    objective = create_assessment(
        client, author, questions=[assessment["questions"][0]], max_attempts=1
    )
    attempt = _start(client, learner, objective["id"])
    question = objective["questions"][0]
    url = f"/attempts/{attempt['id']}/responses/{question['id']}"
    wrong = {"selected_option_ids": [question["options"][0]["id"]]}
    assert client.put(url, json=wrong, headers=learner.headers).status_code == 200
    body = client.post(f"/attempts/{attempt['id']}/submit", headers=learner.headers).json()
    assert body["attempt"]["status"] == "graded"
    assert body["result"]["score"] == 0 and body["result"]["passed"] is False
    assert body["result"]["status"] == "final"


def test_save_is_idempotent_and_validated(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    assessment = create_assessment(client, author)
    other = create_assessment(client, author)
    attempt = _start(client, learner, assessment["id"])
    single, multi, numeric, free = assessment["questions"]
    url = f"/attempts/{attempt['id']}/responses/{single['id']}"
    body = {"selected_option_ids": [single["options"][1]["id"]]}

    first = client.put(url, json=body, headers=learner.headers).json()
    again = client.put(url, json=body, headers=learner.headers).json()
    assert again == first  # same id, same updated_at: nothing was written
    changed = client.put(
        url, json={"selected_option_ids": [single["options"][2]["id"]]}, headers=learner.headers
    ).json()
    assert changed["id"] == first["id"] and changed["updated_at"] >= first["updated_at"]
    assert changed["selected_option_ids"] == [single["options"][2]["id"]]
    with unit_of_work(bind=db_engine) as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 1

    def put(question: dict[str, Any], payload: dict[str, Any]) -> Any:
        return client.put(
            f"/attempts/{attempt['id']}/responses/{question['id']}",
            json=payload,
            headers=learner.headers,
        )

    assert_error(put(single, {"numeric_value": 1}), 422, "wrong_kind")
    assert_error(put(numeric, {"text_value": "42"}), 422, "wrong_kind")
    assert_error(put(free, {"selected_option_ids": []}), 422, "wrong_kind")
    two = [o["id"] for o in single["options"][:2]]
    assert_error(put(single, {"selected_option_ids": two}), 422, "invalid_option")
    foreign = other["questions"][0]["options"][1]["id"]
    assert_error(put(multi, {"selected_option_ids": [foreign]}), 422, "invalid_option")
    assert_error(put(other["questions"][0], {"selected_option_ids": []}), 404)
    # Values are the domain's to check (repo_domain.validation), with the field at fault.
    assert assert_error(put(numeric, {"numeric_value": "NaN"}), 422, "not_a_number")["field"] == (
        "numeric_value"
    )
    assert assert_error(put(numeric, {"numeric_value": 1e308}), 422, "out_of_range")["field"] == (
        "numeric_value"
    )
    nul = assert_error(put(free, {"text_value": "a\x00b"}), 422, "invalid_text")
    assert nul["field"] == "text_value"
    assert_error(put(free, {"text_value": "x" * (TEXT_ANSWER_MAX + 1)}), 422, "too_long")
    saved = put(free, {"text_value": "  line one\nline two  "})
    assert saved.status_code == 200 and saved.json()["text_value"] == "line one\nline two"


def test_attempts_are_private_to_their_owner(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    owner = make_user(db_engine)
    intruder = make_user(db_engine)
    admin = make_user(db_engine, role="admin")
    assessment = create_assessment(client, author)
    attempt_id = _start(client, owner, assessment["id"])["id"]
    question = assessment["questions"][2]
    save_url = f"/attempts/{attempt_id}/responses/{question['id']}"

    for stranger in (intruder, author):
        assert_error(client.get(f"/attempts/{attempt_id}", headers=stranger.headers), 403)
        put = client.put(save_url, json={"numeric_value": 1}, headers=stranger.headers)
        assert_error(put, 403)
        assert_error(client.post(f"/attempts/{attempt_id}/submit", headers=stranger.headers), 403)
    # Admins see everything but never answer on a learner's behalf.
    assert client.get(f"/attempts/{attempt_id}", headers=admin.headers).status_code == 200
    assert_error(client.put(save_url, json={"numeric_value": 1}, headers=admin.headers), 403)
    assert_error(client.post(f"/attempts/{attempt_id}/submit", headers=admin.headers), 403)
    assert_error(client.get(f"/attempts/{attempt_id}"), 401)
    assert_error(client.get("/attempts/99999999", headers=owner.headers), 404)

    assert client.put(save_url, json={"numeric_value": 42}, headers=owner.headers).is_success
    detail = client.get(f"/attempts/{attempt_id}", headers=owner.headers).json()
    assert [r["numeric_value"] for r in detail["responses"]] == [42]
    assert_error(client.get(f"/attempts/{attempt_id}/result", headers=owner.headers), 404)
    assert client.post(f"/attempts/{attempt_id}/submit", headers=owner.headers).is_success

    result_url = f"/attempts/{attempt_id}/result"
    assert client.get(result_url, headers=owner.headers).status_code == 200
    assert client.get(result_url, headers=admin.headers).status_code == 200
    assert_error(client.get(result_url, headers=intruder.headers), 403)
    assert_error(client.get(result_url, headers=author.headers), 403)


def test_cannot_start_unpublished(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    draft = create_assessment(client, author, publish=False)
    url = f"/assessments/{draft['id']}/attempts"
    assert_error(client.post(url, headers=learner.headers), 404)
    assert_error(client.post(url, headers=author.headers), 409, "not_published")
    assert_error(client.post(url), 401)


def test_racing_submits_produce_exactly_one_result(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    assessment = create_assessment(client, author)
    for _ in range(3):  # a few rounds: a lucky interleaving must not hide a double submit
        attempt_id = _start(client, learner, assessment["id"])["id"]
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def submit(
            attempt_id: int = attempt_id,
            barrier: threading.Barrier = barrier,
            statuses: list[int] = statuses,
        ) -> None:
            barrier.wait()
            response = client.post(f"/attempts/{attempt_id}/submit", headers=learner.headers)
            statuses.append(response.status_code)

        threads = [threading.Thread(target=submit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(statuses) == [200, 409], statuses
        with unit_of_work(bind=db_engine) as session:
            results = session.scalar(
                select(func.count()).select_from(Result).where(Result.attempt_id == attempt_id)
            )
        assert results == 1


def test_history_lists_only_own_attempts_with_keyset(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    other = make_user(db_engine)
    admin = make_user(db_engine, role="admin")
    assessment = create_assessment(client, author)
    mine = []
    for _ in range(3):
        attempt_id = _start(client, learner, assessment["id"])["id"]
        client.post(f"/attempts/{attempt_id}/submit", headers=learner.headers)
        mine.append(attempt_id)
    _start(client, other, assessment["id"])

    first = client.get("/attempts", params={"limit": 2}, headers=learner.headers).json()
    assert [i["id"] for i in first["items"]] == mine[:2]
    assert first["items"][0]["assessment_title"] == assessment["title"]
    assert first["items"][0]["max_score"] == 10
    rest = client.get(
        "/attempts", params={"after": first["next_after"]}, headers=learner.headers
    ).json()
    assert [i["id"] for i in rest["items"]] == mine[2:] and rest["next_after"] is None

    as_admin = client.get("/attempts", params={"user_id": learner.id}, headers=admin.headers)
    assert [i["id"] for i in as_admin.json()["items"]] == mine
    peek = client.get("/attempts", params={"user_id": learner.id}, headers=other.headers)
    assert_error(peek, 403)


def test_assessment_statistics(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    other_author = make_user(db_engine, role="author")
    admin = make_user(db_engine, role="admin")
    learners = [make_user(db_engine) for _ in range(3)]
    assessment = create_assessment(client, author, questions=None)
    single = assessment["questions"][0]
    picks = [1, 1, 0]  # two right, one wrong on the single-choice question (2 of 10 points)
    for learner, pick in zip(learners, picks, strict=True):
        attempt_id = _start(client, learner, assessment["id"])["id"]
        client.put(
            f"/attempts/{attempt_id}/responses/{single['id']}",
            json={"selected_option_ids": [single["options"][pick]["id"]]},
            headers=learner.headers,
        )
        client.post(f"/attempts/{attempt_id}/submit", headers=learner.headers)
    _start(client, make_user(db_engine), assessment["id"])  # still in progress: not counted

    url = f"/assessments/{assessment['id']}/stats"
    stats = client.get(url, headers=author.headers).json()
    assert stats["attempts"] == 4 and stats["in_progress"] == 1 and stats["results"] == 3
    bands = {b["lower_percent"]: b["count"] for b in stats["score_distribution"]}
    assert bands[20] == 2 and bands[0] == 1 and sum(bands.values()) == 3
    q0 = stats["questions"][0]
    assert q0["responses"] == 3 and q0["correct"] == 2
    assert abs(q0["correct_rate"] - 2 / 3) < 1e-9
    assert stats["questions"][1]["responses"] == 0 and stats["questions"][1]["correct_rate"] is None
    assert client.get(url, headers=admin.headers).status_code == 200
    assert_error(client.get(url, headers=other_author.headers), 403)
    assert_error(client.get(url, headers=learners[0].headers), 403)


def test_saves_after_the_time_limit_are_refused(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    # One attempt allowed: after it, the per-question scores are shown.
    assessment = create_assessment(client, author, time_limit_seconds=60, max_attempts=1)
    attempt_id = _start(client, learner, assessment["id"])["id"]
    question = assessment["questions"][2]
    url = f"/attempts/{attempt_id}/responses/{question['id']}"
    assert client.put(url, json={"numeric_value": 1}, headers=learner.headers).is_success
    with unit_of_work(bind=db_engine) as session:
        session.execute(
            update(Attempt)
            .where(Attempt.id == attempt_id)
            .values(started_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert_error(
        client.put(url, json={"numeric_value": 2}, headers=learner.headers), 409, "time_up"
    )
    # Submitting still works: what was saved in time is scored.
    submitted = client.post(f"/attempts/{attempt_id}/submit", headers=learner.headers)
    assert submitted.status_code == 200
    assert submitted.json()["result"]["details"]["questions"][2]["score"] == 0
