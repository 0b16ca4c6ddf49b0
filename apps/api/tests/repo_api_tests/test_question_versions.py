"""Correcting a published question through the API: PUT makes a new version, GET .../versions
lists them, POST .../regrade answers per attempt the old and new score (dry run by default) and
then applies it; the learner's result says it was regraded."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_api_tests.helpers import assert_error, create_assessment, make_user, sample_questions


def _single_choice_quiz() -> list[dict[str, Any]]:
    """A single-choice question whose key is wrong (says 3; it is 4) and a numeric one."""
    single, _, numeric, _ = sample_questions()
    single["options"] = [{"text": "3", "is_correct": True}, {"text": "4"}, {"text": "5"}]
    return [single, numeric]


def _answer(client: TestClient, learner: Any, assessment: dict[str, Any], option: int) -> int:
    attempt = client.post(f"/assessments/{assessment['id']}/attempts", headers=learner.headers)
    attempt_id: int = attempt.json()["id"]
    single, numeric = assessment["questions"]
    for question, body in (
        (single, {"selected_option_ids": [single["options"][option]["id"]]}),
        (numeric, {"numeric_value": 42}),
    ):
        url = f"/attempts/{attempt_id}/responses/{question['id']}"
        assert client.put(url, json=body, headers=learner.headers).status_code == 200
    assert client.post(f"/attempts/{attempt_id}/submit", headers=learner.headers).status_code == 200
    return attempt_id


def test_correct_preview_and_regrade(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    stranger = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    # One attempt allowed: the learner sees the scores once it is submitted.
    assessment = create_assessment(client, author, questions=_single_choice_quiz(), max_attempts=1)
    single = assessment["questions"][0]
    assert single["version"] == 1
    attempt = _answer(client, learner, assessment, option=1)  # "4": right, marked wrong
    result = client.get(f"/attempts/{attempt}/result", headers=learner.headers).json()
    assert (result["score"], result["passed"], result["regraded_at"]) == (1.0, False, None)

    url = f"/assessments/{assessment['id']}/questions/{single['id']}"
    fixed = _single_choice_quiz()[0]
    fixed["options"] = [{"text": "3"}, {"text": "4", "is_correct": True}, {"text": "5"}]
    assert_error(client.put(url, json=fixed, headers=stranger.headers), 403)
    fewer = {**fixed, "options": fixed["options"][:2]}
    assert assert_error(client.put(url, json=fewer, headers=author.headers), 422)["field"] == (
        "options"
    )
    corrected = client.put(url, json=fixed, headers=author.headers)
    assert corrected.status_code == 200, corrected.text
    question = corrected.json()["questions"][0]
    assert question["version"] == 2
    assert [o["id"] for o in question["options"]] == [o["id"] for o in single["options"]]

    versions = client.get(f"{url}/versions", headers=author.headers)
    assert versions.status_code == 200, versions.text
    assert [(v["version"], v["answers"]) for v in versions.json()] == [(2, 0), (1, 1)]
    assert versions.json()[1]["content"]["options"][0]["is_correct"] is True
    assert_error(client.get(f"{url}/versions", headers=stranger.headers), 403)
    assert_error(client.post(f"{url}/regrade", headers=stranger.headers), 403)

    preview = client.post(f"{url}/regrade", headers=author.headers)  # dry run by default
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["dry_run"], body["version"], body["changed"], body["regraded_at"]) == (
        True,
        2,
        1,
        None,
    )
    [row] = body["attempts"]
    assert (row["attempt_id"], row["old_score"], row["new_score"]) == (attempt, 1.0, 3.0)
    assert (row["old_passed"], row["new_passed"], row["old_version"]) == (False, True, 1)
    unchanged = client.get(f"/attempts/{attempt}/result", headers=learner.headers).json()
    assert unchanged["score"] == 1.0

    applied = client.post(f"{url}/regrade?dry_run=false", headers=author.headers)
    assert applied.status_code == 200, applied.text
    assert applied.json()["dry_run"] is False and applied.json()["regraded_at"] is not None
    result = client.get(f"/attempts/{attempt}/result", headers=learner.headers).json()
    assert (result["score"], result["passed"]) == (3.0, True)
    assert result["regraded_at"] == applied.json()["regraded_at"]
    again = client.post(f"{url}/regrade", headers=author.headers).json()
    assert again["attempts"] == []
    assert_error(
        client.post(
            f"/assessments/{assessment['id']}/questions/987654/regrade", headers=author.headers
        ),
        404,
    )
