"""The learner journey with plain form posts (no JavaScript): dashboard, take, submit, result."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from repo_db import unit_of_work
from repo_db.models import Assessment, Attempt, ShowAnswers
from repo_domain.assessments import OptionSpec, QuestionSpec
from repo_domain.validation import NUMBER_MAX
from repo_web_tests.helpers import (
    location,
    log_in,
    make_assessment,
    make_user,
    option_ids,
    post,
)


def allow_one_attempt(
    engine: Engine, assessment_id: int, show: ShowAnswers = ShowAnswers.AFTER_LAST_ATTEMPT
) -> None:
    with unit_of_work(bind=engine) as session:
        session.execute(
            update(Assessment)
            .where(Assessment.id == assessment_id)
            .values(max_attempts=1, show_answers=show)
        )


def _start(client: TestClient, assessment_id: int) -> str:
    first = location(post(client, f"/assessments/{assessment_id}/start"))
    assert re.fullmatch(r"/attempts/\d+/questions/1", first)
    return first.rsplit("/questions/", 1)[0]


def test_take_an_assessment_one_question_at_a_time(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    assessment_id = make_assessment(db_engine, author, title="Arithmetic")
    learner = make_user(db_engine)
    log_in(client, learner)

    dashboard = client.get("/dashboard").text
    assert "Arithmetic" in dashboard and f'href="/assessments/{assessment_id}"' in dashboard
    attempt = _start(client, assessment_id)

    q1 = client.get(f"{attempt}/questions/1")
    assert q1.status_code == 200
    html = q1.text
    assert "Question 1 of 4" in html and "0 answered" in html
    assert "data-autosave" in html and "data-question-nav" in html
    assert re.search(r'<span data-countdown data-deadline="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">', html)
    assert html.count("data-question-index=") == 4
    correct_single = option_ids(html)[1]
    assert (
        location(post(client, f"{attempt}/questions/1", {"option": correct_single, "go": "next"}))
        == f"{attempt}/questions/2"
    )

    # Resume from the dashboard while in progress.
    dashboard = client.get("/dashboard").text
    assert f'href="{attempt}"' in dashboard and "Resume" in dashboard

    q2 = client.get(f"{attempt}/questions/2").text
    assert "1 answered" in q2
    first, _, third = option_ids(q2)
    assert (
        location(
            client.post(
                f"{attempt}/questions/2",
                data={
                    "option": [str(first), str(third)],
                    "go": "next",
                    "csrf_token": client.cookies["csrftoken"],
                },
            )
        )
        == f"{attempt}/questions/3"
    )

    bad = post(client, f"{attempt}/questions/3", {"numeric": "forty-two", "go": "next"})
    assert bad.status_code == 422
    assert 'id="field-numeric-error"' in bad.text and "Enter a number" in bad.text
    assert location(
        post(client, f"{attempt}/questions/3", {"numeric": "42.2", "go": "save"})
    ).endswith("?saved=1")
    assert 'value="42.2"' in client.get(f"{attempt}/questions/3").text

    assert (
        location(
            post(client, f"{attempt}/questions/4", {"text": "It calls itself.", "go": "review"})
        )
        == f"{attempt}/submit"
    )
    confirm = client.get(f"{attempt}/submit").text
    assert "you answered <strong>4 of 4</strong>" in confirm
    assert location(post(client, f"{attempt}/submit")) == f"{attempt}/result"

    result = client.get(f"{attempt}/result")
    assert result.status_code == 200
    html = result.text
    assert 'data-result="pending"' in html
    assert "Passed" not in html and "Not passed" not in html  # no provisional verdict
    # Unlimited retakes (the default): show_answers keeps correctness hidden on every attempt.
    assert html.count("badge answered") == 3 and html.count("badge pending") == 1
    assert "badge correct" not in html and "Correct" not in html and not re.search(r"\d%", html)
    # The submitted attempt can no longer be changed.
    assert (
        location(post(client, f"{attempt}/questions/1", {"option": correct_single}))
        == f"{attempt}/result"
    )
    assert "Pending grading" in client.get("/dashboard").text


def test_auto_graded_result_shows_pass_or_fail(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    specs = [
        QuestionSpec(
            kind="single_choice", prompt="Pick A", options=(OptionSpec("A", True), OptionSpec("B"))
        ),
        QuestionSpec(kind="numeric", prompt="1+1", numeric_answer=2),
    ]
    assessment_id = make_assessment(db_engine, author, specs=specs, time_limit_seconds=None)
    allow_one_attempt(db_engine, assessment_id)  # after it, the marks may be shown
    log_in(client, make_user(db_engine))
    attempt = _start(client, assessment_id)
    options = option_ids(client.get(f"{attempt}/questions/1").text)
    post(client, f"{attempt}/questions/1", {"option": options[1]})  # wrong
    post(client, f"{attempt}/questions/2", {"numeric": "2"})
    confirm = client.get(f"{attempt}/submit").text
    assert "data-countdown" not in confirm  # no time limit, no countdown
    post(client, f"{attempt}/submit")
    html = client.get(f"{attempt}/result").text
    assert 'data-result="passed"' in html and "50%" in html
    assert "badge incorrect" in html and "badge correct" in html


def test_unanswered_questions_are_listed_before_submitting(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role="author")
    assessment_id = make_assessment(db_engine, author)
    log_in(client, make_user(db_engine))
    attempt = _start(client, assessment_id)
    html = client.get(f"{attempt}/submit").text
    assert "Not answered yet" in html
    for n in range(1, 5):
        assert f'href="{attempt}/questions/{n}">Question {n}</a>' in html


def test_learners_cannot_open_someone_elses_attempt(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    assessment_id = make_assessment(db_engine, author)
    log_in(client, make_user(db_engine))
    attempt = _start(client, assessment_id)
    log_in(client, make_user(db_engine))
    refused = client.get(f"{attempt}/questions/1")
    assert refused.status_code == 403
    # The domain's message as a sentence, not the API's lowercase data string.
    assert "<p>This attempt belongs to another user.</p>" in refused.text
    assert post(client, f"{attempt}/submit").status_code == 403
    assert client.get(f"{attempt}/result").status_code == 403


def test_drafts_are_not_visible_to_learners(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    draft = make_assessment(db_engine, author, title="Secret draft", publish=False)
    log_in(client, make_user(db_engine))
    assert "Secret draft" not in client.get("/dashboard").text
    assert client.get(f"/assessments/{draft}").status_code == 404
    assert post(client, f"/assessments/{draft}/start").status_code == 404


def test_pages_need_a_login(client: TestClient) -> None:
    for url in ("/dashboard", "/manage", "/admin/users", "/attempts/1/questions/1"):
        assert location(client.get(url)).startswith("/login?next=")


def test_after_the_time_limit_saving_leads_to_the_submit_step(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role="author")
    assessment_id = make_assessment(db_engine, author, time_limit_seconds=60)
    log_in(client, make_user(db_engine))
    attempt = _start(client, assessment_id)
    attempt_id = int(attempt.rsplit("/", 1)[1])
    with unit_of_work(bind=db_engine) as session:
        session.execute(
            update(Attempt)
            .where(Attempt.id == attempt_id)
            .values(started_at=datetime.now(UTC) - timedelta(hours=1))
        )
    response = post(client, f"{attempt}/questions/3", {"numeric": "42", "go": "next"})
    assert location(response) == f"{attempt}/submit"
    assert "time is up" in client.get(f"{attempt}/submit").text
    assert location(post(client, f"{attempt}/submit")) == f"{attempt}/result"


def test_answer_values_are_checked_by_the_domain_and_shown_as_form_errors(
    client: TestClient, db_engine: Engine
) -> None:
    """A NUL in a written answer (PostgreSQL cannot store it) and an absurd number are form
    errors (422) next to the field, never a 500; nothing is saved."""
    author = make_user(db_engine, role="author")
    assessment_id = make_assessment(db_engine, author)
    log_in(client, make_user(db_engine))
    attempt = _start(client, assessment_id)
    nul = post(client, f"{attempt}/questions/4", {"text": "before\x00after", "go": "save"})
    assert nul.status_code == 422, nul.text[:300]
    assert 'id="field-text-error"' in nul.text and "control characters" in nul.text
    huge = post(client, f"{attempt}/questions/3", {"numeric": "1e308", "go": "save"})
    assert huge.status_code == 422 and 'id="field-numeric-error"' in huge.text
    assert f"{NUMBER_MAX:g}" in huge.text
    infinite = post(client, f"{attempt}/questions/3", {"numeric": "inf", "go": "save"})
    assert infinite.status_code == 422
    assert "0 answered" in client.get(f"{attempt}/questions/1").text
    two = option_ids(client.get(f"{attempt}/questions/1").text)[:2]
    both = client.post(
        f"{attempt}/questions/1",
        data={"option": [str(i) for i in two], "csrf_token": client.cookies["csrftoken"]},
    )
    assert both.status_code == 422 and 'id="field-option"' in both.text


def test_show_answers_never_hides_marks_on_the_result_page_and_dashboard(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role="author")
    specs = [
        QuestionSpec(
            kind="single_choice", prompt="Pick A", options=(OptionSpec("A", True), OptionSpec("B"))
        ),
    ]
    assessment_id = make_assessment(db_engine, author, specs=specs, time_limit_seconds=None)
    allow_one_attempt(db_engine, assessment_id, ShowAnswers.NEVER)
    log_in(client, make_user(db_engine))
    attempt = _start(client, assessment_id)
    right = option_ids(client.get(f"{attempt}/questions/1").text)[0]
    post(client, f"{attempt}/questions/1", {"option": right})
    post(client, f"{attempt}/submit")
    html = client.get(f"{attempt}/result").text
    assert 'data-result="hidden"' in html and "does not show scores" in html
    assert "badge answered" in html and "Correct" not in html and not re.search(r"\d%", html)
    dashboard = client.get("/dashboard").text
    assert "badge submitted" in dashboard and "Passed" not in dashboard


def _standing(html: str, assessment_id: int) -> str:
    """The dashboard card's status badge for one assessment."""
    card = html.split(f'data-id="{assessment_id}"', 1)[1].split("</li>", 1)[0]
    match = re.search(r'<p data-standing><span class="badge \w+">([^<]+)</span>', card)
    assert match, card
    return match.group(1)


def test_pages_tell_a_new_assessment_from_one_in_progress_or_taken(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role="author")
    assessment_id = make_assessment(db_engine, author, title="Standing")
    with unit_of_work(bind=db_engine) as session:
        session.execute(
            update(Assessment).where(Assessment.id == assessment_id).values(max_attempts=2)
        )
    learner = make_user(db_engine)
    log_in(client, learner)
    page = f"/assessments/{assessment_id}"

    # A first visit says "Start" (it said "Start or resume" to everyone).
    assert _standing(client.get("/dashboard").text, assessment_id) == "New"
    assert 'data-start-action="start">Start</button>' in client.get(page).text

    attempt = _start(client, assessment_id)
    assert _standing(client.get("/dashboard").text, assessment_id) == "In progress"
    assert 'data-start-action="resume">Resume</button>' in client.get(page).text

    post(client, f"{attempt}/submit")
    assert _standing(client.get("/dashboard").text, assessment_id) == "Taken"
    html = client.get(page).text
    assert "You have made 1 attempt of 2." in html
    assert 'data-start-action="retake">Start a new attempt</button>' in html

    second = _start(client, assessment_id)
    post(client, f"{second}/submit")
    assert _standing(client.get("/dashboard").text, assessment_id) == "Taken 2 times"
    html = client.get(page).text
    assert 'data-start-action="no_attempts_left"' in html
    assert f'action="/assessments/{assessment_id}/start"' not in html
