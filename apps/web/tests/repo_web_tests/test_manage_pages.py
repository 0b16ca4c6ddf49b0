"""Authoring: create, questions of every kind, preview, publish, archive, statistics, roles."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select

from repo_db import unit_of_work
from repo_db.models import Question, QuestionKind, Role
from repo_domain.assessments import OptionSpec, QuestionSpec
from repo_domain.validation import DESCRIPTION_MAX, OPTION_TEXT_MAX, PROMPT_MAX, TITLE_MAX
from repo_web_tests.helpers import location, log_in, make_assessment, make_user, option_ids, post


def test_author_builds_and_publishes_an_assessment_a_learner_can_take(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    log_in(client, author)
    assert client.get("/manage/new").status_code == 200
    # The domain decides and names the first field at fault.
    invalid = post(client, "/manage/new", {"title": "", "pass_percent": "50"})
    assert invalid.status_code == 422 and 'id="field-title-error"' in invalid.text
    invalid = post(client, "/manage/new", {"title": "Geography", "pass_percent": "150"})
    assert invalid.status_code == 422 and 'id="field-pass_percent-error"' in invalid.text
    assert 'value="Geography"' in invalid.text  # input kept
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

    for kind in QuestionKind:
        page = client.get(f"{edit_url}/questions/new", params={"kind": kind})
        assert page.status_code == 200 and 'name="prompt"' in page.text
    bad = post(
        client,
        f"{edit_url}/questions/new",
        {
            "kind": QuestionKind.SINGLE_CHOICE,
            "prompt": "Capital of France?",
            "points": "1",
            "option_1": "Paris",
            "option_2": "Rome",
        },
    )
    # The domain's verdict, shown next to the options.
    assert bad.status_code == 422
    assert "Single choice questions need exactly one correct option." in bad.text
    assert 'value="Paris"' in bad.text  # input kept
    questions = [
        {
            "kind": QuestionKind.SINGLE_CHOICE,
            "prompt": "Capital of France?",
            "points": "1",
            "option_1": "Paris",
            "correct_1": "on",
            "option_2": "Rome",
        },
        {
            "kind": QuestionKind.MULTIPLE_CHOICE,
            "prompt": "In Europe?",
            "points": "2",
            "option_1": "Spain",
            "correct_1": "on",
            "option_2": "Peru",
            "option_3": "Italy",
            "correct_3": "on",
        },
        {
            "kind": QuestionKind.NUMERIC,
            "prompt": "How many continents?",
            "points": "1",
            "numeric_answer": "7",
            "numeric_tolerance": "",
        },
        {
            "kind": QuestionKind.FREE_TEXT,
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


# --- questions one at a time, the domain's verdicts as form errors --------------------------

KEYWORDS = ["full table scan|every row", "b-tree|sorted"]


def _with_keywords() -> list[QuestionSpec]:
    return [
        QuestionSpec(
            kind=QuestionKind.SINGLE_CHOICE,
            prompt="Pick B",
            options=(OptionSpec("A"), OptionSpec("B", True)),
        ),
        QuestionSpec(
            kind=QuestionKind.FREE_TEXT,
            prompt="Why an index?",
            points=4,
            reference_answer="It avoids a full table scan.",
            rubric_keywords=KEYWORDS,
        ),
        QuestionSpec(
            kind=QuestionKind.NUMERIC,
            prompt="Pi?",
            numeric_answer=3.14159265,
            numeric_tolerance=0.001,
        ),
    ]


def _rows(engine: Engine, assessment_id: int) -> dict[int, dict[str, Any]]:
    with unit_of_work(read_only=True, bind=engine) as session:
        questions = session.scalars(
            select(Question).where(Question.assessment_id == assessment_id)
        ).all()
        return {
            q.id: {attr.key: getattr(q, attr.key) for attr in inspect(Question).column_attrs}
            for q in questions
        }


def test_editing_one_question_keeps_every_field_of_the_others(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    assessment_id = make_assessment(db_engine, author, specs=_with_keywords(), publish=False)
    log_in(client, author)
    url = f"/manage/{assessment_id}/questions"
    before = _rows(db_engine, assessment_id)
    choice_id, free_id, numeric_id = sorted(before, key=lambda q: before[q]["position"])

    page = client.get(f"{url}/2").text
    assert "full table scan|every row\nb-tree|sorted</textarea>" in page
    assert 'value="3.14159265"' in client.get(f"{url}/3").text  # not rounded by the form
    saved = post(
        client,
        f"{url}/1",
        {
            "prompt": "Pick B, again",
            "points": "1",
            "option_1": "A",
            "option_2": "B",
            "correct_2": "on",
        },
    )
    assert location(saved).endswith("notice=question-saved")
    after = _rows(db_engine, assessment_id)
    assert after[free_id] == before[free_id] and after[numeric_id] == before[numeric_id]
    assert after[free_id]["rubric_keywords"] == KEYWORDS
    assert after[choice_id]["prompt"] == "Pick B, again"

    # The numeric question saved unchanged through its form keeps its exact answer.
    post(
        client,
        f"{url}/3",
        {
            "prompt": "Pi?",
            "points": "1",
            "numeric_answer": "3.14159265",
            "numeric_tolerance": "0.001",
        },
    )
    assert _rows(db_engine, assessment_id)[numeric_id] == before[numeric_id]

    # Keywords are edited one per line; blank lines are ignored.
    edited = post(
        client,
        f"{url}/2",
        {
            "prompt": "Why an index?",
            "points": "4",
            "reference_answer": "It avoids a full table scan.",
            "rubric_keywords": "b-tree|sorted\r\n\r\n  logarithmic  \r\n",
        },
    )
    assert location(edited).endswith("notice=question-saved")
    assert _rows(db_engine, assessment_id)[free_id]["rubric_keywords"] == [
        "b-tree|sorted",
        "logarithmic",
    ]

    # Move down and up, then delete: the others keep their content.
    assert location(post(client, f"{url}/1/move", {"direction": "down"})).endswith("question-moved")
    moved = _rows(db_engine, assessment_id)
    assert [moved[q]["position"] for q in (free_id, choice_id, numeric_id)] == [0, 1, 2]
    assert location(post(client, f"{url}/3/move", {"direction": "down"})).endswith("question-moved")
    assert post(client, f"{url}/1/move", {"direction": "sideways"}).status_code == 400
    assert location(post(client, f"{url}/2/delete")).endswith("question-deleted")
    left = _rows(db_engine, assessment_id)
    assert set(left) == {free_id, numeric_id}
    assert left[numeric_id] == {**before[numeric_id], "position": 1}
    edit_page = client.get(f"/manage/{assessment_id}").text
    assert "Move up" in edit_page and "Rubric keywords: b-tree|sorted, logarithmic" in edit_page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"prompt": "nul\x00byte"}, "prompt"),
        ({"prompt": "p" * (PROMPT_MAX + 1)}, "prompt"),
        ({"points": "1e308"}, "points"),
        ({"points": "-1"}, "points"),
        ({"points": "9" * 60}, "points"),
        ({"points": "1e400"}, "points"),
        ({"points": "nan"}, "points"),
        ({"points": "1\x00"}, "points"),
        ({"option_2": "B\x00"}, "option_2"),
        ({"option_2": "o" * (OPTION_TEXT_MAX + 1)}, "option_2"),
        ({"correct_2": ""}, "options"),
    ],
)
def test_absurd_question_input_is_a_form_error(
    client: TestClient, db_engine: Engine, data: dict[str, str], field: str
) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    assessment_id = make_assessment(db_engine, author, publish=False)
    log_in(client, author)
    form = {
        "kind": QuestionKind.SINGLE_CHOICE,
        "prompt": "?",
        "points": "1",
        "option_1": "A",
        "option_2": "B",
        "correct_2": "on",
        **data,
    }
    response = post(client, f"/manage/{assessment_id}/questions/new", form)
    assert response.status_code == 422, response.text[:300]
    assert f'id="field-{field}-error"' in response.text or (
        field == "options" and "options-editor has-error" in response.text
    )
    assert len(_rows(db_engine, assessment_id)) == 4  # nothing added


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"numeric_answer": "1e308"}, "numeric_answer"),
        ({"numeric_answer": "-" + "9" * 40}, "numeric_answer"),
        ({"numeric_answer": ""}, "numeric_answer"),
        ({"numeric_tolerance": "-1"}, "numeric_tolerance"),
        ({"numeric_tolerance": "1e308"}, "numeric_tolerance"),
    ],
)
def test_absurd_numeric_answers_are_form_errors(
    client: TestClient, db_engine: Engine, data: dict[str, str], field: str
) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    assessment_id = make_assessment(db_engine, author, publish=False)
    log_in(client, author)
    form = {"prompt": "?", "points": "1", "numeric_answer": "1", "numeric_tolerance": "", **data}
    response = post(client, f"/manage/{assessment_id}/questions/3", form)
    assert response.status_code == 422 and f'id="field-{field}-error"' in response.text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"time_limit_minutes": "1e308"}, "time_limit_minutes"),
        ({"time_limit_minutes": "9" * 50}, "time_limit_minutes"),
        ({"time_limit_minutes": "-1"}, "time_limit_minutes"),
        ({"time_limit_minutes": "inf"}, "time_limit_minutes"),
        ({"pass_percent": "1e308"}, "pass_percent"),
        ({"pass_percent": "-1"}, "pass_percent"),
        ({"title": "nul\x00"}, "title"),
        ({"title": "t" * (TITLE_MAX + 1)}, "title"),
        ({"description": "nul\x00"}, "description"),
        ({"description": "d" * (DESCRIPTION_MAX + 1)}, "description"),
    ],
)
def test_absurd_settings_are_form_errors(
    client: TestClient, db_engine: Engine, data: dict[str, str], field: str
) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    assessment_id = make_assessment(db_engine, author, publish=False)
    log_in(client, author)
    form = {
        "title": "T",
        "description": "",
        "time_limit_minutes": "5",
        "pass_percent": "50",
        **data,
    }
    for url in ("/manage/new", f"/manage/{assessment_id}"):
        response = post(client, url, form)
        assert response.status_code == 422, (url, response.text[:300])
        assert f'id="field-{field}-error"' in response.text


def test_an_empty_time_limit_clears_it(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    assessment_id = make_assessment(db_engine, author, publish=False, time_limit_seconds=600)
    log_in(client, author)
    form = {"title": "T", "time_limit_minutes": "", "pass_percent": "50"}
    assert location(post(client, f"/manage/{assessment_id}", form)).endswith("notice=saved")
    assert (
        'name="time_limit_minutes" type="text" value=""'
        in client.get(f"/manage/{assessment_id}").text
    )
