"""Authoring: create, questions of every kind, preview, publish, archive, statistics, roles."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_web_tests.helpers import location, log_in, make_assessment, make_user, option_ids, post


def test_author_builds_and_publishes_an_assessment_a_learner_can_take(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role="author")
    log_in(client, author)
    assert client.get("/manage/new").status_code == 200
    invalid = post(client, "/manage/new", {"title": "", "pass_percent": "150"})
    assert invalid.status_code == 422
    assert (
        'id="field-title-error"' in invalid.text and 'id="field-pass_percent-error"' in invalid.text
    )
    edit_url = location(
        post(
            client,
            "/manage/new",
            {
                "title": "Geography",
                "description": "Capitals",
                "time_limit_minutes": "5",
                "pass_percent": "50",
            },
        )
    )
    assert re.fullmatch(r"/manage/\d+", edit_url)
    assessment_id = int(edit_url.rsplit("/", 1)[1])

    # Publishing an empty assessment is refused with a notice.
    assert location(post(client, f"{edit_url}/publish")).endswith("notice=needs-questions")

    for kind in ("single_choice", "multiple_choice", "numeric", "free_text"):
        page = client.get(f"{edit_url}/questions/new", params={"kind": kind})
        assert page.status_code == 200 and 'name="prompt"' in page.text
    bad = post(
        client,
        f"{edit_url}/questions/new",
        {
            "kind": "single_choice",
            "prompt": "Capital of France?",
            "points": "1",
            "option_1": "Paris",
            "option_2": "Rome",
        },
    )
    assert bad.status_code == 422 and "Mark exactly one option as correct." in bad.text
    assert 'value="Paris"' in bad.text  # input kept
    questions = [
        {
            "kind": "single_choice",
            "prompt": "Capital of France?",
            "points": "1",
            "option_1": "Paris",
            "correct_1": "on",
            "option_2": "Rome",
        },
        {
            "kind": "multiple_choice",
            "prompt": "In Europe?",
            "points": "2",
            "option_1": "Spain",
            "correct_1": "on",
            "option_2": "Peru",
            "option_3": "Italy",
            "correct_3": "on",
        },
        {
            "kind": "numeric",
            "prompt": "How many continents?",
            "points": "1",
            "numeric_answer": "7",
            "numeric_tolerance": "",
        },
        {
            "kind": "free_text",
            "prompt": "Describe a river delta.",
            "points": "3",
            "reference_answer": "Sediment at a mouth.",
        },
    ]
    for q in questions:
        assert location(post(client, f"{edit_url}/questions/new", q)).endswith(
            "notice=question-saved"
        )
    page = client.get(edit_url).text
    assert page.count('class="badge">') >= 4 and "Describe a river delta." in page

    # Edit question 3, delete nothing, then check the edit stuck.
    edit = client.get(f"{edit_url}/questions/3").text
    assert 'value="7"' in edit
    post(
        client,
        f"{edit_url}/questions/3",
        {
            "prompt": "How many continents are there?",
            "points": "1",
            "numeric_answer": "7",
            "numeric_tolerance": "0",
        },
    )
    assert "How many continents are there?" in client.get(edit_url).text

    preview = client.get(f"{edit_url}/preview", params={"q": 2})
    assert preview.status_code == 200
    assert "Nothing you enter here is saved" in preview.text and "In Europe?" in preview.text
    assert (
        "data-autosave" not in preview.text
        and 'method="post" action="/attempts' not in preview.text
    )
    assert f'href="/manage/{assessment_id}/preview?q=3">Next question</a>' in preview.text

    assert location(post(client, f"{edit_url}/publish")).endswith("notice=published")
    published = client.get(edit_url).text
    assert "status-published" in published and "/questions/new" not in published
    assert client.get(f"{edit_url}/questions/1").status_code == 409

    learner = make_user(db_engine)
    log_in(client, learner)
    assert "Geography" in client.get("/dashboard").text
    first = location(post(client, f"/assessments/{assessment_id}/start"))
    assert option_ids(client.get(first).text)

    log_in(client, author)
    assert location(post(client, f"{edit_url}/archive")).endswith("notice=archived")
    log_in(client, learner)
    # No longer offered; the attempt already in progress stays listed.
    assert f'href="/assessments/{assessment_id}"' not in client.get("/dashboard").text


def test_learners_cannot_reach_author_pages(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    assessment_id = make_assessment(db_engine, author)
    log_in(client, make_user(db_engine))
    for url in (
        "/manage",
        "/manage/new",
        f"/manage/{assessment_id}",
        f"/manage/{assessment_id}/stats",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Not allowed" in response.text
    assert post(client, "/manage/new", {"title": "x", "pass_percent": "50"}).status_code == 403
    assert post(client, f"/manage/{assessment_id}/archive").status_code == 403


def test_authors_cannot_edit_another_authors_assessment(
    client: TestClient, db_engine: Engine
) -> None:
    owner = make_user(db_engine, role="author")
    published = make_assessment(db_engine, owner, title="Owned")
    draft = make_assessment(db_engine, owner, title="Owned draft", publish=False)
    log_in(client, make_user(db_engine, role="author"))
    assert client.get(f"/manage/{published}").status_code == 403
    assert (
        post(client, f"/manage/{published}", {"title": "Hijacked", "pass_percent": "1"}).status_code
        == 403
    )
    assert post(client, f"/manage/{published}/archive").status_code == 403
    assert client.get(f"/manage/{published}/stats").status_code == 403
    # Someone else's draft does not even exist for them.
    assert client.get(f"/manage/{draft}").status_code == 404
    assert post(client, f"/manage/{draft}/publish").status_code == 404
    assert "Owned" not in client.get("/manage").text


def test_statistics_page_draws_three_svg_charts(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    assessment_id = make_assessment(db_engine, author, title="Stats")
    for answer in ("42", "1"):
        log_in(client, make_user(db_engine))
        attempt = location(post(client, f"/assessments/{assessment_id}/start")).rsplit(
            "/questions/", 1
        )[0]
        post(client, f"{attempt}/questions/3", {"numeric": answer})
        post(client, f"{attempt}/submit")
    log_in(client, author)
    html = client.get(f"/manage/{assessment_id}/stats").text
    assert html.count("<svg") == 3
    for title in ("Score distribution", "Per-question difficulty", "Attempts over time"):
        assert f">{title}</title>" in html
    assert 'role="img"' in html and "data-tooltip=" in html
    assert "2 attempts on" in html  # both attempts today
    assert "Q3 (numeric): 50% correct of 2 answers" in html
