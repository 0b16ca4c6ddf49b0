"""GET /assessments/{id}/item-analysis and /results.csv over HTTP: learners answer through the
API, the author reads the analysis and downloads the CSV; the statistics' authorization."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from repo_api_tests.helpers import ApiUser, assert_error, create_assessment, make_user
from repo_db import unit_of_work
from repo_db.models import User

QUESTIONS: list[dict[str, Any]] = [
    {
        "kind": "single_choice",
        "prompt": "2 + 2 = ?",
        "points": 1,
        "options": [{"text": "3"}, {"text": "4", "is_correct": True}, {"text": "=5"}],
    },
    {"kind": "numeric", "prompt": "6 x 7?", "points": 2, "numeric_answer": 42},
]


def _take(
    client: TestClient, learner: ApiUser, assessment: dict[str, Any], pick: int, n: float
) -> None:
    attempt_id = client.post(
        f"/assessments/{assessment['id']}/attempts", headers=learner.headers
    ).json()["id"]
    single, numeric = assessment["questions"]
    client.put(
        f"/attempts/{attempt_id}/responses/{single['id']}",
        json={"selected_option_ids": [single["options"][pick]["id"]]},
        headers=learner.headers,
    )
    client.put(
        f"/attempts/{attempt_id}/responses/{numeric['id']}",
        json={"numeric_value": n},
        headers=learner.headers,
    )
    assert client.post(f"/attempts/{attempt_id}/submit", headers=learner.headers).status_code == 200


def test_item_analysis_and_results_csv(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    assessment = create_assessment(client, author, questions=QUESTIONS)
    # Scores (Q1, Q2): (1, 2) (1, 0) (0, 0) (0, 2): Q1 facility 0.5, Q2 facility 0.5.
    learners = [make_user(db_engine) for _ in range(4)]
    with unit_of_work(bind=db_engine) as session:  # a learner-chosen name a spreadsheet would run
        session.execute(
            update(User)
            .where(User.id.in_([u.id for u in learners]))
            .values(display_name="=HYPERLINK(1)")
        )
    for learner, (pick, n) in zip(learners, [(1, 42), (1, 7), (0, 7), (2, 42)], strict=True):
        _take(client, learner, assessment, pick, n)

    url = f"/assessments/{assessment['id']}/item-analysis"
    response = client.get(url, headers=author.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["attempts"] == 4 and report["group_size"] == 1
    q1, q2 = report["items"]
    assert (q1["facility"], q2["facility"]) == (0.5, 0.5)
    assert [o["chosen"] for o in q1["options"]] == [0.25, 0.5, 0.25]
    assert q2["options"] == [] and q2["irt"] is None
    assert report["reliability"]["statistic"] == "kr20"
    assert report["reliability"]["attempts"] == 4

    csv_url = f"/assessments/{assessment['id']}/results.csv"
    download = client.get(csv_url, headers=author.headers)
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert len(rows) == 5 and rows[0][-2:] == ["Q1 (1 pts)", "Q2 (2 pts)"]
    assert [r[-2:] for r in rows[1:]] == [["1", "2"], ["1", "0"], ["0", "0"], ["0", "2"]]
    assert {r[1] for r in rows[1:]} == {"'=HYPERLINK(1)"}  # defused, not a formula


def test_same_authorization_as_the_statistics(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    admin = make_user(db_engine, role="admin")
    other_author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    assessment = create_assessment(client, author, questions=QUESTIONS)
    for path in ("item-analysis", "results.csv"):
        url = f"/assessments/{assessment['id']}/{path}"
        assert client.get(url, headers=admin.headers).status_code == 200
        assert_error(client.get(url, headers=other_author.headers), 403)
        assert_error(client.get(url, headers=learner.headers), 403)
        assert_error(client.get(url), 401)
        assert_error(client.get(f"/assessments/999999/{path}", headers=author.headers), 404)
