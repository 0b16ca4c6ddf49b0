"""The review queue (one by one and in groups, with undo) and the learner flow's next question
over HTTP. The AI worker is not part of the API: its flagged grade (and cluster key) is written
here with repo_domain.grading, as the worker writes it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from repo_api_tests.helpers import (
    assert_error,
    create_assessment,
    flag_ai_grade,
    make_user,
    submitted_attempt,
)
from repo_db import unit_of_work
from repo_db.models import Feedback


def test_author_grades_a_flagged_answer_and_the_result_is_refreshed(
    client: TestClient, db_engine: Engine
) -> None:
    author, other_author = make_user(db_engine, role="author"), make_user(db_engine, role="author")
    learner = make_user(db_engine)
    # One attempt: after it, show_answers (after_last_attempt) shows the learner everything.
    assessment = create_assessment(client, author, pass_percent=90, max_attempts=1)
    attempt_id = submitted_attempt(client, learner, assessment)
    assert client.get("/reviews", headers=author.headers).json()["items"] == []

    flag_ai_grade(db_engine, attempt_id)
    result = client.get(f"/attempts/{attempt_id}/result", headers=learner.headers).json()
    assert result["status"] == "final" and result["passed"] is False  # 8 of 10 points < 90%

    queue = client.get("/reviews", headers=author.headers)
    assert queue.status_code == 200, queue.text
    [item] = queue.json()["items"]
    assert item["attempt_id"] == attempt_id and item["ai_score"] == 2.0
    assert item["confidence"] == 0.3 and item["answer"].startswith("A function")
    assert client.get("/reviews", headers=other_author.headers).json()["items"] == []
    assert_error(client.get("/reviews", headers=learner.headers), 403)

    url = f"/reviews/{item['feedback_id']}"
    assert_error(client.post(url, json={"score": 3}, headers=other_author.headers), 403)
    assert_error(client.post(url, json={"score": 5}, headers=author.headers), 422)
    graded = client.post(url, json={"score": 4, "comment": "Correct."}, headers=author.headers)
    assert graded.status_code == 200, graded.text
    body = graded.json()
    assert body["feedback"]["source"] == "human" and body["feedback"]["score"] == 4
    assert body["result"]["score"] == 10 and body["result"]["passed"] is True
    assert_error(client.post(url, json={"score": 4}, headers=author.headers), 409)
    assert client.get("/reviews", headers=author.headers).json()["items"] == []

    feedback = client.get(f"/attempts/{attempt_id}/feedback", headers=learner.headers)
    assert [f["source"] for f in feedback.json()] == ["ai", "human"]
    assert not any(f["needs_review"] for f in feedback.json())
    stranger = make_user(db_engine)
    assert_error(client.get(f"/attempts/{attempt_id}/feedback", headers=stranger.headers), 403)
    assert_error(client.get(f"/attempts/{attempt_id}/next-question", headers=stranger.headers), 403)


def test_authors_create_adaptive_assessments_with_rubric_keywords(
    client: TestClient, db_engine: Engine
) -> None:
    author, learner = make_user(db_engine, role="author"), make_user(db_engine)
    questions = [
        {
            "kind": "single_choice",
            "prompt": f"Q{i}",
            "options": [{"text": "a", "is_correct": True}, {"text": "b"}],
        }
        for i in range(3)
    ]
    questions.append(
        {
            "kind": "free_text",
            "prompt": "Why index?",
            "reference_answer": "It avoids a full table scan.",
            "rubric_keywords": ["full table scan|every row", "b-tree|sorted"],
        }
    )
    assessment = create_assessment(
        client, author, questions=questions, adaptive=True, adaptive_target_se=0.5
    )
    assert assessment["adaptive"] is True and assessment["adaptive_target_se"] == 0.5
    assert assessment["questions"][3]["rubric_keywords"] == [
        "full table scan|every row",
        "b-tree|sorted",
    ]
    attempt = client.post(f"/assessments/{assessment['id']}/attempts", headers=learner.headers)
    nxt = client.get(f"/attempts/{attempt.json()['id']}/next-question", headers=learner.headers)
    body = nxt.json()
    assert body["reason"] == "next" and body["n_answered"] == 0 and body["n_questions"] == 4
    # Uncalibrated questions are all alike (b=0, a=1): the lowest id goes first.
    first = assessment["questions"][0]
    assert body["question_id"] == first["id"] and body["position"] == first["position"]
    # What the learner needs to answer it, and nothing about ability or the key.
    assert body["question"]["prompt"] == "Q0"
    assert body["question"]["options"] == [
        {"id": o["id"], "text": o["text"]} for o in first["options"]
    ]
    assert not {"theta", "standard_error", "n_scored", "adaptive"} & set(body)


def test_next_question_serves_adaptive_assessments_only(
    client: TestClient, db_engine: Engine
) -> None:
    author, learner = make_user(db_engine, role="author"), make_user(db_engine)
    assessment = create_assessment(client, author)
    attempt = client.post(f"/assessments/{assessment['id']}/attempts", headers=learner.headers)
    url = f"/attempts/{attempt.json()['id']}/next-question"
    assert_error(client.get(url, headers=learner.headers), 409, "not_adaptive")


def test_the_api_enforces_the_adaptive_order(client: TestClient, db_engine: Engine) -> None:
    """Only the served question, answered once: refused with 409 before, now by the domain."""
    author, learner = make_user(db_engine, role="author"), make_user(db_engine)
    questions = [
        {
            "kind": "single_choice",
            "prompt": f"Q{i}",
            "options": [{"text": "a", "is_correct": True}, {"text": "b"}],
        }
        for i in range(3)
    ]
    assessment = create_assessment(client, author, questions=questions, adaptive=True)
    attempt = client.post(f"/assessments/{assessment['id']}/attempts", headers=learner.headers)
    attempt_id = attempt.json()["id"]
    served = client.get(f"/attempts/{attempt_id}/next-question", headers=learner.headers).json()
    by_id = {q["id"]: q for q in assessment["questions"]}
    unserved = next(q for q in assessment["questions"] if q["id"] != served["question_id"])

    def put(question: dict[str, Any], option: int) -> Any:
        return client.put(
            f"/attempts/{attempt_id}/responses/{question['id']}",
            json={"selected_option_ids": [question["options"][option]["id"]]},
            headers=learner.headers,
        )

    assert_error(put(unserved, 0), 409, "adaptive_not_served")
    question = by_id[served["question_id"]]
    assert put(question, 1).status_code == 200
    assert put(question, 1).status_code == 200  # the same answer again: an idempotent retry
    assert_error(put(question, 0), 409, "adaptive_answer_final")


def _cluster(engine: Engine, feedback_ids: list[int]) -> int:
    """As the AI worker does for look-alike answers: one cluster keyed by the first response."""
    with unit_of_work(bind=engine) as session:
        rows = session.scalars(
            select(Feedback).where(Feedback.id.in_(feedback_ids)).order_by(Feedback.id)
        ).all()
        key = rows[0].response_id
        for row in rows:
            row.cluster = key
    return key


def test_one_decision_grades_a_group_and_can_be_undone(
    client: TestClient, db_engine: Engine
) -> None:
    author, other_author = make_user(db_engine, role="author"), make_user(db_engine, role="author")
    admin, learner = make_user(db_engine, role="admin"), make_user(db_engine)
    assessment = create_assessment(
        client, author, title="Recursion basics", pass_percent=90, max_attempts=1
    )
    learners = [learner, make_user(db_engine), make_user(db_engine)]
    attempt_ids = [submitted_attempt(client, u, assessment) for u in learners]
    feedback_ids = [flag_ai_grade(db_engine, a) for a in attempt_ids]
    group_id = _cluster(db_engine, feedback_ids[:2])  # the third stays a group of one

    queue = client.get("/review-groups", headers=author.headers)
    assert queue.status_code == 200, queue.text
    groups = queue.json()["items"]
    assert [g["size"] for g in groups] == [2, 1] and groups[0]["group_id"] == group_id
    assert queue.json()["next_after"] is None
    first = groups[0]
    assert first["assessment_title"] == "Recursion basics" and first["confidence"] == 0.3
    assert [s["feedback_id"] for s in first["samples"]] == feedback_ids[:2]
    page = client.get("/review-groups?limit=1", headers=author.headers).json()
    assert [g["group_id"] for g in page["items"]] == [group_id]
    rest = client.get(f"/review-groups?limit=1&after={page['next_after']}", headers=author.headers)
    assert [g["size"] for g in rest.json()["items"]] == [1] and rest.json()["next_after"] is None
    assert_error(client.get("/review-groups?after=nonsense", headers=author.headers), 422)
    assert client.get("/review-groups", headers=other_author.headers).json()["items"] == []
    assert len(client.get("/review-groups", headers=admin.headers).json()["items"]) == 2
    assert_error(client.get("/review-groups", headers=learner.headers), 403)

    url = f"/review-groups/{group_id}"
    for stranger in (other_author, learner):
        assert_error(client.post(url, json={"score": 2}, headers=stranger.headers), 403)
    assert_error(client.post(url, json={"score": 5}, headers=author.headers), 422)
    assert_error(
        client.post("/review-groups/999999999", json={"score": 1}, headers=author.headers), 404
    )
    decided = client.post(url, json={"score": 4, "comment": "Right."}, headers=author.headers)
    assert decided.status_code == 200, decided.text
    decision = decided.json()
    assert (decision["graded"], decision["group_id"], decision["score"]) == (2, group_id, 4)
    for attempt_id, u in zip(attempt_ids[:2], learners, strict=False):
        result = client.get(f"/attempts/{attempt_id}/result", headers=u.headers).json()
        assert result["score"] == 10 and result["passed"] is True
    assert_error(client.post(url, json={"score": 4}, headers=author.headers), 409, "not_in_review")
    assert [
        g["size"] for g in client.get("/review-groups", headers=author.headers).json()["items"]
    ] == [1]

    undo = f"/review-decisions/{decision['id']}/undo"
    for stranger in (other_author, learner):
        assert_error(client.post(undo, headers=stranger.headers), 403)
    assert_error(client.post("/review-decisions/999999999/undo", headers=author.headers), 404)
    undone = client.post(undo, headers=author.headers)
    assert undone.status_code == 200, undone.text
    assert undone.json() == {"decision_id": decision["id"], "group_id": group_id, "restored": 2}
    result = client.get(f"/attempts/{attempt_ids[0]}/result", headers=learner.headers).json()
    assert result["score"] == 8 and result["passed"] is False
    feedback = client.get(f"/attempts/{attempt_ids[0]}/feedback", headers=learner.headers).json()
    assert [(f["source"], f["needs_review"]) for f in feedback] == [("ai", True)]
    assert_error(client.post(undo, headers=author.headers), 409, "already_undone")
    sizes = [
        g["size"] for g in client.get("/review-groups", headers=author.headers).json()["items"]
    ]
    assert sizes == [2, 1]
