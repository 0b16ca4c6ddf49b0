"""Questions edited one at a time through the API: add, change, move, delete, their limits,
and the OpenAPI document describing them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_api_tests.helpers import assert_error, create_assessment, make_user, sample_questions
from repo_db.models import QuestionKind
from repo_domain.validation import OPTION_TEXT_MAX, PROMPT_MAX, SEARCH_QUERY_MAX

KEYWORDS = ["full table scan|every row", "b-tree|sorted"]


def questions_with_keywords() -> list[dict[str, Any]]:
    questions = sample_questions()
    questions[3]["rubric_keywords"] = KEYWORDS
    return questions


def by_id(view: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {q["id"]: q for q in view["questions"]}


def without_position(question: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in question.items() if k != "position"}


def test_each_command_leaves_the_other_questions_alone(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role="author")
    draft = create_assessment(client, author, questions=questions_with_keywords(), publish=False)
    url = f"/assessments/{draft['id']}/questions"
    before = by_id(draft)
    first, second, numeric, free = (q["id"] for q in draft["questions"])
    assert before[free]["rubric_keywords"] == KEYWORDS

    added = client.post(url, json=sample_questions()[2], headers=author.headers)
    assert added.status_code == 201, added.text
    new_id = added.json()["questions"][-1]["id"]
    assert {k: v for k, v in by_id(added.json()).items() if k != new_id} == before

    change = {"kind": QuestionKind.NUMERIC, "prompt": "6 x 7?", "numeric_answer": 42}
    changed = client.put(f"{url}/{second}", json=change, headers=author.headers)
    assert changed.status_code == 200, changed.text
    after_change = by_id(changed.json())
    assert after_change[second]["prompt"] == "6 x 7?" and after_change[second]["options"] == []
    assert after_change[second]["position"] == 1
    assert {k: v for k, v in after_change.items() if k != second} == {
        k: v for k, v in by_id(added.json()).items() if k != second
    }

    moved = client.post(f"{url}/{new_id}/move", json={"position": 0}, headers=author.headers)
    assert moved.status_code == 200, moved.text
    assert [q["id"] for q in moved.json()["questions"]] == [new_id, first, second, numeric, free]
    assert {k: without_position(v) for k, v in by_id(moved.json()).items()} == {
        k: without_position(v) for k, v in after_change.items()
    }

    deleted = client.delete(f"{url}/{first}", headers=author.headers)
    assert deleted.status_code == 200, deleted.text
    assert [q["position"] for q in deleted.json()["questions"]] == [0, 1, 2, 3]
    assert by_id(deleted.json())[free]["rubric_keywords"] == KEYWORDS
    assert {k: without_position(v) for k, v in by_id(deleted.json()).items()} == {
        k: without_position(v) for k, v in after_change.items() if k != first
    }


def test_question_routes_check_owner_state_and_ids(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    stranger = make_user(db_engine, role="author")
    draft = create_assessment(client, author, publish=False)
    other = create_assessment(client, author, publish=False)
    url = f"/assessments/{draft['id']}/questions"
    question = draft["questions"][0]["id"]
    body = sample_questions()[2]

    assert_error(client.post(url, json=body, headers=stranger.headers), 404)
    assert_error(client.put(f"{url}/{question}", json=body), 401)
    foreign = other["questions"][0]["id"]
    assert_error(client.put(f"{url}/{foreign}", json=body, headers=author.headers), 404)
    assert_error(client.delete(f"{url}/987654321", headers=author.headers), 404)
    for position in (-1, 4, 10**30):
        response = client.post(
            f"{url}/{question}/move", json={"position": position}, headers=author.headers
        )
        assert assert_error(response, 422)["field"] == "position"

    client.post(f"/assessments/{draft['id']}/publish", headers=author.headers)
    for response in (
        client.post(url, json=body, headers=author.headers),
        client.post(f"{url}/{question}/move", json={"position": 1}, headers=author.headers),
        client.delete(f"{url}/{question}", headers=author.headers),
    ):
        assert_error(response, 409, "not_draft")
    # Published: a change is a correction (test_question_versions), which keeps the kind.
    changed = client.put(f"{url}/{question}", json=body, headers=author.headers)
    assert assert_error(changed, 422, "kind_fixed")["field"] == "kind"


def test_limits_come_from_the_domain(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    draft = create_assessment(client, author, publish=False)
    url = f"/assessments/{draft['id']}/questions"

    def add(**changes: Any) -> Any:
        question: dict[str, Any] = {
            "kind": QuestionKind.SINGLE_CHOICE,
            "prompt": "?",
            "options": [{"text": "a", "is_correct": True}, {"text": "b"}],
        }
        question.update(changes)
        return client.post(url, json=question, headers=author.headers)

    assert add(prompt="p" * PROMPT_MAX).status_code == 201
    assert assert_error(add(prompt="p" * (PROMPT_MAX + 1)), 422)["field"] == "prompt"
    long_option = [{"text": "o" * OPTION_TEXT_MAX, "is_correct": True}, {"text": "b"}]
    assert add(options=long_option).status_code == 201
    too_long = [{"text": "b"}, {"text": "o" * (OPTION_TEXT_MAX + 1), "is_correct": True}]
    assert assert_error(add(options=too_long), 422)["field"] == "options[1].text"
    assert assert_error(add(prompt="nul\x00byte"), 422)["field"] == "prompt"
    for points in (1e308, -1, 10**30, 0):
        assert assert_error(add(points=points), 422)["field"] == "points"
    numeric = {"kind": QuestionKind.NUMERIC, "prompt": "?", "options": []}
    for value in (1e308, -1e308, 10**30):
        assert assert_error(add(**numeric, numeric_answer=value), 422)["field"] == (
            "numeric_answer"
        )
    tolerance = add(**numeric, numeric_answer=1, numeric_tolerance=-1)
    assert assert_error(tolerance, 422)["field"] == "numeric_tolerance"

    settings_url = f"/assessments/{draft['id']}"
    settings: list[tuple[str, Any]] = [
        ("time_limit_seconds", 10**30),
        ("time_limit_seconds", -1),
        ("pass_percent", 1e308),
        ("max_attempts", 10**30),
        ("title", "nul\x00"),
        ("description", "nul\x00"),
    ]
    for field, setting in settings:
        response = client.patch(settings_url, json={field: setting}, headers=author.headers)
        assert assert_error(response, 422)["field"] == field
    for q in ("nul\x00", "q" * (SEARCH_QUERY_MAX + 1)):
        response = client.get("/assessments", params={"q": q}, headers=author.headers)
        assert assert_error(response, 422)["field"] == "query"


def test_patch_changes_only_what_is_sent(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    draft = create_assessment(client, author, publish=False, time_limit_seconds=600, max_attempts=2)
    url = f"/assessments/{draft['id']}"
    cleared = client.patch(url, json={"time_limit_seconds": None}, headers=author.headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["time_limit_seconds"] is None and cleared.json()["max_attempts"] == 2
    assert assert_error(client.patch(url, json={"title": None}, headers=author.headers), 422)[
        "field"
    ] == ("title")


def test_openapi_documents_the_question_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    base = "/assessments/{assessment_id}/questions"
    operations = {
        ("post", base): "201",
        ("put", base + "/{question_id}"): "200",
        ("post", base + "/{question_id}/move"): "200",
        ("delete", base + "/{question_id}"): "200",
    }
    for (method, path), ok in operations.items():
        responses = paths[path][method]["responses"]
        assert {ok, "401", "403", "404", "409", "422"} <= set(responses), (method, path)
        assert "ErrorBody" in str(responses["422"]) and "AssessmentAuthoring" in str(responses[ok])
    update = client.get("/openapi.json").json()["components"]["schemas"]["AssessmentUpdate"]
    assert "questions" not in update["properties"] and update["additionalProperties"] is False
