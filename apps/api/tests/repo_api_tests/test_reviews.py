"""The review queue and the learner flow's next question over HTTP. The AI worker is not part of
the API: its flagged grade is written here with repo_domain.grading, as the worker writes it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_api_tests.helpers import (
    assert_error,
    create_assessment,
    flag_ai_grade,
    make_user,
    submitted_attempt,
)


def test_author_grades_a_flagged_answer_and_the_result_is_refreshed(
    client: TestClient, db_engine: Engine
) -> None:
    author, other_author = make_user(db_engine, role="author"), make_user(db_engine, role="author")
    learner = make_user(db_engine)
    assessment = create_assessment(client, author, pass_percent=90)
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
    assert body["adaptive"] is True and body["reason"] == "next" and body["n_scored"] == 0
    # Uncalibrated questions are all alike (b=0, a=1): the lowest id goes first.
    assert body["question_id"] == assessment["questions"][0]["id"]
