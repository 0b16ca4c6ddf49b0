"""Adaptive-test limits over HTTP (issue 18): authors set them on create and PATCH, the domain
validates them (422 naming the field), and the next question stops at the maximum length."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_api_tests.helpers import assert_error, create_assessment, make_user


def _choices(n: int) -> list[dict[str, Any]]:
    return [
        {
            "kind": "single_choice",
            "prompt": f"Q{i}",
            "options": [{"text": "a", "is_correct": True}, {"text": "b"}],
        }
        for i in range(n)
    ]


def test_authors_set_and_change_the_adaptive_limits(client: TestClient, db_engine: Engine) -> None:
    author, learner = make_user(db_engine, role="author"), make_user(db_engine)
    assessment = create_assessment(
        client,
        author,
        questions=_choices(5),
        adaptive=True,
        adaptive_target_se=0.05,  # never reached: the length decides
        adaptive_min_length=1,
        adaptive_max_length=2,
        adaptive_max_exposure=0.5,
    )
    limits = {k: v for k, v in assessment.items() if k.startswith("adaptive_")}
    assert limits == {
        "adaptive_target_se": 0.05,
        "adaptive_min_length": 1,
        "adaptive_max_length": 2,
        "adaptive_max_exposure": 0.5,
    }
    attempt = client.post(f"/assessments/{assessment['id']}/attempts", headers=learner.headers)
    url = f"/attempts/{attempt.json()['id']}"
    for _ in range(2):
        served = client.get(f"{url}/next-question", headers=learner.headers).json()
        assert served["reason"] == "next"
        option = served["question"]["options"][0]["id"]
        saved = client.put(
            f"{url}/responses/{served['question_id']}",
            json={"selected_option_ids": [option]},
            headers=learner.headers,
        )
        assert saved.status_code == 200, saved.text
    done = client.get(f"{url}/next-question", headers=learner.headers).json()
    assert done["reason"] == "max_length_reached" and done["question_id"] is None
    assert done["n_answered"] == 2 and done["n_questions"] == 5

    patch = f"/assessments/{assessment['id']}"
    changed = client.patch(patch, json={"adaptive_max_length": None}, headers=author.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["adaptive_max_length"] is None  # back to the default
    assert changed.json()["adaptive_max_exposure"] == 0.5  # not sent: unchanged
    error = assert_error(
        client.patch(patch, json={"adaptive_max_exposure": 2}, headers=author.headers), 422
    )
    assert error["field"] == "adaptive_max_exposure"
    error = assert_error(
        client.patch(patch, json={"adaptive_max_length": 0}, headers=author.headers), 422
    )
    assert error["field"] == "adaptive_max_length"
    error = assert_error(
        client.patch(
            patch,
            json={"adaptive_min_length": 4, "adaptive_max_length": 3},
            headers=author.headers,
        ),
        422,
    )
    assert error["field"] == "adaptive_min_length"
    assert_error(client.patch(patch, json={"adaptive_max_length": 3}, headers=learner.headers), 403)


def test_invalid_limits_on_create_are_refused(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"adaptive_min_length": 0}, "adaptive_min_length"),
        ({"adaptive_max_exposure": 0.0}, "adaptive_max_exposure"),
        ({"adaptive_min_length": 9, "adaptive_max_length": 8}, "adaptive_min_length"),
    ]
    for limits, field in cases:
        response = client.post(
            "/assessments",
            json={"title": "T", "adaptive": True, "questions": _choices(2), **limits},
            headers=author.headers,
        )
        assert assert_error(response, 422)["field"] == field
