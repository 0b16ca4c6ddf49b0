"""Authoring: create, questions of every kind, preview, publish, archive, statistics, roles."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select

from repo_db import unit_of_work
from repo_db.models import AssessmentStatus, Question, QuestionKind, Role, ShowAnswers
from repo_domain import assessments
from repo_domain.assessments import OptionSpec, QuestionSpec
from repo_domain.common import as_utc
from repo_domain.validation import (
    DESCRIPTION_MAX,
    MAX_ATTEMPTS_MAX,
    OPTION_TEXT_MAX,
    PROMPT_MAX,
    TITLE_MAX,
)
from repo_web.policy import SHOW_ANSWERS_LABELS
from repo_web_tests.helpers import (
    PageUser,
    location,
    log_in,
    make_assessment,
    make_user,
    option_ids,
    post,
)


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
    # Published: no new question, but a correction of one (test_regrade_pages).
    assert client.get(f"{edit_url}/questions/new").status_code == 409
    assert "Correct question 1" in client.get(f"{edit_url}/questions/1").text

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
        f"/manage/{assessment_id}/item-analysis",
        f"/manage/{assessment_id}/results.csv",
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
    assert client.get(f"/manage/{published}/item-analysis").status_code == 403
    assert client.get(f"/manage/{published}/results.csv").status_code == 403
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
    for title in ("Score distribution", "Per-question % correct", "Attempts over time"):
        assert f">{title}</title>" in html
    assert "difficulty" not in html.lower()  # it is a share correct, not an IRT difficulty
    assert 'role="img"' in html and "data-tooltip=" in html
    assert "2 attempts on" in html  # both attempts today
    assert "Q3 (numeric): 50% correct of 2 answers" in html
    assert f'href="/manage/{assessment_id}/item-analysis"' in html
    assert f'href="/manage/{assessment_id}/results.csv"' in html

    # The item analysis page: its two charts, a table per question and per choice question.
    page = client.get(f"/manage/{assessment_id}/item-analysis")
    assert page.status_code == 200
    analysis = page.text
    assert analysis.count("<svg") == 2 and analysis.count('role="img"') == 2
    assert ">Facility per question</title>" in analysis
    assert '<th scope="col">Question</th>' in analysis
    assert ">Graded attempts</dt><dd>2</dd>" in analysis
    assert "Q3: facility 50% of the points" in analysis  # one of the two got the numeric right

    # The download: one row per attempt after the header.
    download = client.get(f"/manage/{assessment_id}/results.csv")
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    lines = download.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 3 and lines[0].startswith("attempt_id,learner,email,status")


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


# --- the attempt policy: attempts allowed, when marks are shown, close date ---------------------

Policy = tuple[int | None, ShowAnswers, datetime | None]


def _policy(engine: Engine, author: PageUser, assessment_id: int) -> Policy:
    """The policy as the domain reads it back."""
    with unit_of_work(read_only=True, bind=engine) as session:
        a = assessments.get_managed(session, actor=author.actor, assessment_id=assessment_id)
        closes_at = None if a.closes_at is None else as_utc(a.closes_at)
        return a.max_attempts, ShowAnswers(a.show_answers), closes_at


def _assessment_ids(engine: Engine, author: PageUser) -> list[int]:
    with unit_of_work(read_only=True, bind=engine) as session:
        page = assessments.list_managed(
            session, actor=author.actor, status=None, after=None, limit=100
        )
        return [a.id for a in page.items]


def test_the_settings_form_offers_every_show_answers_member(
    client: TestClient, db_engine: Engine
) -> None:
    assert set(SHOW_ANSWERS_LABELS) == set(ShowAnswers)
    log_in(client, make_user(db_engine, role=Role.AUTHOR))
    page = client.get("/manage/new").text
    for member, label in SHOW_ANSWERS_LABELS.items():
        selected = " selected" if member == ShowAnswers.AFTER_LAST_ATTEMPT else ""
        assert f'<option value="{member}"{selected}>{label}</option>' in page
    assert '<label for="field-show_answers">' in page and 'id="field-show_answers"' in page
    assert 'aria-describedby=" field-show_answers-hint"' in page
    assert '<label for="field-max_attempts">Attempts allowed' in page
    assert '<label for="field-closes_at">Closes at (UTC)' in page
    assert 'id="field-closes_at" name="closes_at" type="datetime-local" value=""' in page


@pytest.mark.parametrize(
    ("form", "expected", "learner_text"),
    [
        (
            {"max_attempts": "", "show_answers": ShowAnswers.NEVER, "closes_at": ""},
            (None, ShowAnswers.NEVER, None),
            "Unlimited attempts; marks and correct answers are never shown",
        ),
        (
            {"max_attempts": "3", "show_answers": ShowAnswers.AFTER_LAST_ATTEMPT, "closes_at": ""},
            (3, ShowAnswers.AFTER_LAST_ATTEMPT, None),
            "3 attempts allowed; marks shown after your last attempt",
        ),
        (
            {"max_attempts": "", "show_answers": ShowAnswers.AFTER_LAST_ATTEMPT, "closes_at": ""},
            (None, ShowAnswers.AFTER_LAST_ATTEMPT, None),
            "Unlimited attempts; marks are not shown, because attempts are unlimited",
        ),
        (
            {
                "max_attempts": "1",
                "show_answers": ShowAnswers.AFTER_CLOSE,
                "closes_at": "2030-01-31T17:00",
            },
            (1, ShowAnswers.AFTER_CLOSE, datetime(2030, 1, 31, 17, 0, tzinfo=UTC)),
            "1 attempt allowed; marks shown after the assessment closes",
        ),
    ],
)
def test_an_author_sets_the_attempt_policy_and_learners_see_it(
    client: TestClient,
    db_engine: Engine,
    form: dict[str, str],
    expected: Policy,
    learner_text: str,
) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    log_in(client, author)
    edit_url = location(post(client, "/manage/new", {"title": "T", "pass_percent": "50", **form}))
    assessment_id = int(edit_url.rsplit("/", 1)[1])
    assert _policy(db_engine, author, assessment_id) == expected

    # The edit form shows it as saved; saving it unchanged changes nothing.
    page = client.get(edit_url).text
    assert f'name="max_attempts" type="text" value="{form["max_attempts"]}"' in page
    assert f'<option value="{form["show_answers"]}" selected>' in page
    assert f'name="closes_at" type="datetime-local" value="{form["closes_at"]}"' in page
    assert location(post(client, edit_url, {"title": "T", "pass_percent": "50", **form}))
    assert _policy(db_engine, author, assessment_id) == expected

    specs = [QuestionSpec(kind=QuestionKind.NUMERIC, prompt="1+1", numeric_answer=2)]
    published = make_assessment(db_engine, author, specs=specs)
    assert location(post(client, f"/manage/{published}", {"title": "T", **form}))
    log_in(client, make_user(db_engine))
    learner_page = client.get(f"/assessments/{published}").text
    assert f'<li class="policy">{learner_text}</li>' in learner_page
    closes = "Closes 31 Jan 2030, 17:00 UTC: no new attempts after that"
    assert (closes in learner_page) == bool(form["closes_at"])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"max_attempts": "0"}, "max_attempts"),
        ({"max_attempts": "-1"}, "max_attempts"),
        ({"max_attempts": str(MAX_ATTEMPTS_MAX + 1)}, "max_attempts"),
        ({"max_attempts": str(10**9)}, "max_attempts"),
        ({"max_attempts": "9" * 200}, "max_attempts"),
        ({"max_attempts": "abc"}, "max_attempts"),
        ({"max_attempts": "2.5"}, "max_attempts"),
        ({"max_attempts": "1_000"}, "max_attempts"),
        ({"max_attempts": "3\x00"}, "max_attempts"),
        ({"show_answers": "sometimes"}, "show_answers"),
        ({"show_answers": ""}, "show_answers"),
        ({"show_answers": "never\x00"}, "show_answers"),
        ({"show_answers": ShowAnswers.AFTER_CLOSE, "closes_at": ""}, "closes_at"),
        ({"closes_at": "2030-02-30T10:00"}, "closes_at"),
        ({"closes_at": "tomorrow"}, "closes_at"),
        ({"closes_at": "2030-01-31T17:00+02:00"}, "closes_at"),
        ({"closes_at": "0000-01-01T00:00"}, "closes_at"),
        ({"closes_at": "2030-01-31T17:00\x00"}, "closes_at"),
    ],
)
def test_a_bad_attempt_policy_is_a_form_error_and_changes_nothing(
    client: TestClient, db_engine: Engine, data: dict[str, str], field: str
) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    draft = make_assessment(db_engine, author, publish=False)
    published = make_assessment(db_engine, author)
    before = {a: _policy(db_engine, author, a) for a in (draft, published)}
    log_in(client, author)
    form = {
        "title": "Changed",
        "description": "",
        "time_limit_minutes": "5",
        "pass_percent": "50",
        "max_attempts": "2",
        "show_answers": ShowAnswers.NEVER,
        "closes_at": "",
        **data,
    }
    for url in ("/manage/new", f"/manage/{draft}", f"/manage/{published}"):
        response = post(client, url, form)
        assert response.status_code == 422, (url, response.text[:300])
        html = response.text
        assert f'<p class="field-error" id="field-{field}-error">' in html
        assert f'aria-describedby="field-{field}-error ' in html
        assert f'<a href="#field-{field}">' in html  # the summary links to the field
    assert _assessment_ids(db_engine, author) == sorted(before)
    assert {a: _policy(db_engine, author, a) for a in before} == before
    log_in(client, author)
    assert "Changed" not in client.get("/manage").text


def test_a_published_assessments_policy_can_change_until_archived(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    assessment_id = make_assessment(db_engine, author)
    url = f"/manage/{assessment_id}"
    log_in(client, author)
    page = client.get(url).text
    assert 'name="max_attempts"' in page and 'name="pass_percent"' not in page
    assert "Attempts and marks:</strong> Unlimited attempts; marks are not shown" in page
    form = {
        "title": "Arithmetic",
        # Frozen after publishing: ignored, not an error.
        "pass_percent": "99",
        "time_limit_minutes": "abc",
        "max_attempts": "2",
        "show_answers": ShowAnswers.AFTER_CLOSE,
        "closes_at": "2031-06-01T08:30",
    }
    assert location(post(client, url, form)).endswith("notice=saved")
    closes = datetime(2031, 6, 1, 8, 30, tzinfo=UTC)
    assert _policy(db_engine, author, assessment_id) == (2, ShowAnswers.AFTER_CLOSE, closes)
    with unit_of_work(read_only=True, bind=db_engine) as session:
        a = assessments.get_managed(session, actor=author.actor, assessment_id=assessment_id)
        assert (a.pass_percent, a.time_limit_seconds) == (50, 600)
    page = client.get(url).text
    assert "2 attempts allowed; marks shown after the assessment closes." in page
    assert "Closes 01 Jun 2031, 08:30 UTC." in page

    # A form without the policy fields (not this page's) leaves the policy as it is.
    assert location(post(client, url, {"title": "Renamed"})).endswith("notice=saved")
    assert _policy(db_engine, author, assessment_id) == (2, ShowAnswers.AFTER_CLOSE, closes)
    # Empty fields clear the limit and the date.
    cleared = {"title": "Renamed", "max_attempts": "", "show_answers": ShowAnswers.NEVER}
    assert location(post(client, url, {**cleared, "closes_at": ""})).endswith("notice=saved")
    assert _policy(db_engine, author, assessment_id) == (None, ShowAnswers.NEVER, None)

    assert location(post(client, f"{url}/archive")).endswith("notice=archived")
    with unit_of_work(read_only=True, bind=db_engine) as session:
        a = assessments.get_managed(session, actor=author.actor, assessment_id=assessment_id)
        assert a.status == AssessmentStatus.ARCHIVED
    archived = client.get(url).text
    assert 'name="max_attempts"' not in archived
    assert "Unlimited attempts; marks and correct answers are never shown." in archived
