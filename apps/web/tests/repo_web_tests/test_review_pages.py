"""The author review queue page: flagged AI grades in groups of look-alike answers, with the
answers, AI score, confidence and feedback, one CSRF-protected form per group and an undo; the
learners' results are refreshed. The AI worker is not part of the web UI: its flagged grade (and
cluster key) is written with repo_domain.grading, as it writes it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from repo_db import unit_of_work
from repo_db.models import (
    AnswerOption,
    Assessment,
    Feedback,
    FeedbackSource,
    Question,
    Response,
)
from repo_domain import attempts, grading
from repo_domain.attempts import Answer
from repo_web_tests.helpers import PageUser, location, log_in, make_assessment, make_user, post


def _one_attempt(engine: Engine, assessment_id: int) -> int:
    """One attempt allowed: after it, show_answers (after_last_attempt) shows the learner the
    marks and the grader's feedback."""
    with unit_of_work(bind=engine) as session:
        session.execute(
            update(Assessment).where(Assessment.id == assessment_id).values(max_attempts=1)
        )
    return assessment_id


def _submitted_with_flagged_grade(engine: Engine, learner: PageUser, assessment_id: int) -> int:
    """The learner answers everything correctly (free text: 'calls itself'), the AI gives the free
    text 2 of 4 points with confidence 0.3 and flags it."""
    with unit_of_work(bind=engine) as session:
        attempt, _ = attempts.start_attempt(
            session, actor=learner.actor, assessment_id=assessment_id
        )
        attempt_id = attempt.id
        questions = list(
            session.scalars(
                select(Question)
                .where(Question.assessment_id == assessment_id)
                .order_by(Question.position)
            )
        )
        for q in questions:
            if q.kind == "free_text":
                answer = Answer(text_value="A function that calls itself.")
            elif q.kind == "numeric":
                answer = Answer(numeric_value=42)
            else:
                correct = session.scalars(
                    select(AnswerOption.id).where(
                        AnswerOption.question_id == q.id, AnswerOption.is_correct
                    )
                ).all()
                answer = Answer(selected_option_ids=list(correct))
            attempts.save_response(
                session, actor=learner.actor, attempt_id=attempt_id, question_id=q.id, answer=answer
            )
        attempts.submit(session, actor=learner.actor, attempt_id=attempt_id)
    _flag_free_text(engine, attempt_id, comment="Partly right: say what stops it.")
    return attempt_id


def _flag_free_text(engine: Engine, attempt_id: int, *, comment: str) -> None:
    """As the AI worker does: 2 of 4 points, confidence 0.3, flagged for review."""
    with unit_of_work(bind=engine) as session:
        response, question = session.execute(
            select(Response, Question)
            .join(Question, Question.id == Response.question_id)
            .where(Response.attempt_id == attempt_id, Question.kind == "free_text")
        ).one()
        grading.record_grade(
            session,
            response=response,
            question=question,
            fraction=0.5,
            comment=comment,
            source=FeedbackSource.AI,
            model_version="test",
            confidence=0.3,
            needs_review=True,
        )
        grading.refresh_result(session, attempt_id=attempt_id)


def test_author_grades_a_flagged_answer_from_the_review_page(
    client: TestClient, db_engine: Engine
) -> None:
    author, other = make_user(db_engine, role="author"), make_user(db_engine, role="author")
    admin, learner = make_user(db_engine, role="admin"), make_user(db_engine)
    assessment_id = _one_attempt(db_engine, make_assessment(db_engine, author, title="Recursion"))
    attempt_id = _submitted_with_flagged_grade(db_engine, learner, assessment_id)

    log_in(client, author)
    assert 'href="/reviews"' in client.get("/manage").text
    page = client.get("/reviews")
    assert page.status_code == 200
    html = page.text
    [feedback_id] = [int(x) for x in re.findall(r'data-feedback-id="(\d+)"', html)]
    [group_id] = [int(x) for x in re.findall(r'data-group-id="(\d+)"', html)]
    assert "A function that calls itself." in html and "Explain recursion" in html
    assert ">Recursion</a>" in html and "1 answer" in html  # the assessment's title, the count
    assert re.search(r"data-ai-score>2 / 4 points<", html)
    assert re.search(r"data-confidence>30%<", html)
    assert "Partly right: say what stops it." in html
    url = f"/reviews/groups/{group_id}"
    form = html[html.index(f'action="{url}"') :]
    token = client.cookies["csrftoken"]
    assert f'name="csrf_token" value="{token}"' in form[: form.index("</form>")]

    # Without the CSRF token: refused, nothing graded.
    assert client.post(url, data={"score": "4"}).status_code == 403
    # Out of range: the page again with the error next to that group, nothing graded.
    bad = post(client, url, {"score": "9"})
    assert bad.status_code == 422 and "between 0 and 4" in bad.text and 'value="9"' in bad.text
    # The comment is checked by the domain too: a NUL is a form error next to it, not a 500.
    nul = post(client, url, {"score": "3", "comment": "ok\x00"})
    assert nul.status_code == 422 and f'id="comment-{group_id}-error"' in nul.text
    huge = post(client, url, {"score": "1e308"})
    assert huge.status_code == 422 and "between 0 and 4" in huge.text

    log_in(client, other)  # another author sees nothing and may not grade it
    assert "data-feedback-id" not in client.get("/reviews").text
    assert post(client, url, {"score": "4"}).status_code == 403
    log_in(client, learner)
    assert client.get("/reviews").status_code == 403
    assert post(client, url, {"score": "4"}).status_code == 403
    assert 'href="/reviews"' not in client.get("/dashboard").text
    log_in(client, admin)  # admins see every assessment's queue
    assert f'data-feedback-id="{feedback_id}"' in client.get("/reviews").text

    log_in(client, author)
    done = post(client, url, {"score": "4", "comment": "Right."})
    decided = location(done)
    assert re.fullmatch(r"/reviews\?decided=\d+&n=1", decided)
    after = client.get(decided).text
    assert "Grade saved" in after and "data-feedback-id" not in after
    # Graded already (e.g. a second tab): back to the queue, no error.
    assert location(post(client, url, {"score": "1"})) == "/reviews"

    with unit_of_work(read_only=True, bind=db_engine) as session:
        rows = grading.feedback_for_attempt(session, actor=learner.actor, attempt_id=attempt_id)
    assert [(f.source, f.score) for f in rows] == [("ai", 2.0), ("human", 4.0)]
    log_in(client, learner)
    result = client.get(f"/attempts/{attempt_id}/result").text
    assert 'data-result="passed"' in result and "100%" in result


def test_the_dashboard_marks_a_mark_under_review_provisional(
    client: TestClient, db_engine: Engine
) -> None:
    """ "Passed" on the dashboard may still change while a teacher reviews an AI grade."""
    author, learner = make_user(db_engine, role="author"), make_user(db_engine)
    assessment_id = _one_attempt(db_engine, make_assessment(db_engine, author, title="Recursion"))
    _submitted_with_flagged_grade(db_engine, learner, assessment_id)
    log_in(client, learner)
    row = re.search(
        r"<tr[^>]*>(?:(?!</tr>).)*Recursion.*?</tr>", client.get("/dashboard").text, re.S
    )
    assert row is not None and "(provisional)" in row.group(0), row
    log_in(client, author)
    [group_id] = re.findall(r'data-group-id="(\d+)"', client.get("/reviews").text)
    assert location(post(client, f"/reviews/groups/{group_id}", {"score": "4"}))
    log_in(client, learner)
    row = re.search(
        r"<tr[^>]*>(?:(?!</tr>).)*Recursion.*?</tr>", client.get("/dashboard").text, re.S
    )
    assert row is not None and "Passed" in row.group(0) and "provisional" not in row.group(0)


def test_result_page_shows_free_text_feedback_once_graded_and_pending_before(
    client: TestClient, db_engine: Engine
) -> None:
    author, learner = make_user(db_engine, role="author"), make_user(db_engine)
    assessment_id = _one_attempt(db_engine, make_assessment(db_engine, author))
    with unit_of_work(bind=db_engine) as session:
        attempt, _ = attempts.start_attempt(
            session, actor=learner.actor, assessment_id=assessment_id
        )
        attempt_id = attempt.id
        question_id = session.scalars(
            select(Question.id).where(
                Question.assessment_id == assessment_id, Question.kind == "free_text"
            )
        ).one()
        attempts.save_response(
            session,
            actor=learner.actor,
            attempt_id=attempt_id,
            question_id=question_id,
            answer=Answer(text_value="It calls itself."),
        )
        attempts.submit(session, actor=learner.actor, attempt_id=attempt_id)
    log_in(client, learner)
    pending = client.get(f"/attempts/{attempt_id}/result").text
    assert 'data-grader-feedback="pending"' in pending and "being graded" in pending

    _flag_free_text(db_engine, attempt_id, comment="Mention the base case.")
    flagged = client.get(f"/attempts/{attempt_id}/result").text
    assert 'data-grader-feedback="ai"' in flagged and "Mention the base case." in flagged
    assert "a teacher will review this grade" in flagged
    assert 'data-grader-feedback="pending"' not in flagged

    log_in(client, author)
    group_id = int(re.findall(r'data-group-id="(\d+)"', client.get("/reviews").text)[0])
    post(client, f"/reviews/groups/{group_id}", {"score": "3", "comment": "Good, <b>base</b>?"})
    log_in(client, learner)
    reviewed = client.get(f"/attempts/{attempt_id}/result").text
    assert 'data-grader-feedback="human"' in reviewed and "Feedback from your teacher" in reviewed
    assert (
        "Good, &lt;b&gt;base&lt;/b&gt;?" in reviewed and "<b>base" not in reviewed
    )  # escaped, never markup
    assert "Mention the base case." not in reviewed


def test_feedback_stays_hidden_while_retakes_remain(client: TestClient, db_engine: Engine) -> None:
    """Unlimited retakes (the default): the grader's words would hand over the rubric."""
    author, learner = make_user(db_engine, role="author"), make_user(db_engine)
    assessment_id = make_assessment(db_engine, author)
    attempt_id = _submitted_with_flagged_grade(db_engine, learner, assessment_id)
    log_in(client, learner)
    html = client.get(f"/attempts/{attempt_id}/result").text
    assert "data-grader-feedback" not in html and "say what stops it" not in html
    assert "unlimited retakes" in html


def test_one_form_grades_a_group_of_look_alike_answers_and_undo_takes_it_back(
    client: TestClient, db_engine: Engine
) -> None:
    author, other = make_user(db_engine, role="author"), make_user(db_engine, role="author")
    learners = [make_user(db_engine) for _ in range(3)]
    assessment_id = _one_attempt(db_engine, make_assessment(db_engine, author, title="Recursion"))
    attempt_ids = [_submitted_with_flagged_grade(db_engine, u, assessment_id) for u in learners]
    with unit_of_work(bind=db_engine) as session:  # as apps/ai's worker clusters look-alikes
        flagged = session.scalars(
            select(Feedback)
            .join(Response, Response.id == Feedback.response_id)
            .where(Response.attempt_id.in_(attempt_ids))
            .order_by(Feedback.id)
        ).all()
        for row in flagged:
            row.cluster = flagged[0].response_id

    log_in(client, author)
    html = client.get("/reviews").text
    [group_id] = [int(x) for x in re.findall(r'data-group-id="(\d+)"', html)]
    assert group_id == flagged[0].response_id and 'data-group-size="3"' in html
    assert "3 similar answers" in html and ">Recursion</a>" in html
    assert len(re.findall(r'data-feedback-id="\d+"', html)) == 3
    assert html.count('class="review-form"') == 1 and "for all 3 answers" in html

    decided = location(
        post(client, f"/reviews/groups/{group_id}", {"score": "4", "comment": "Yes."})
    )
    page = client.get(decided).text
    assert "Grade saved for 3 answers" in page and "data-group-id" not in page
    [decision_id] = [int(x) for x in re.findall(r'action="/reviews/decisions/(\d+)/undo"', page)]
    undo_form = page[page.index(f'action="/reviews/decisions/{decision_id}/undo"') :]
    token = client.cookies["csrftoken"]
    assert f'name="csrf_token" value="{token}"' in undo_form[: undo_form.index("</form>")]
    for u, attempt_id in zip(learners, attempt_ids, strict=True):
        log_in(client, u)
        assert 'data-result="passed"' in client.get(f"/attempts/{attempt_id}/result").text

    undo = f"/reviews/decisions/{decision_id}/undo"
    assert client.post(undo, data={}).status_code == 403  # no CSRF token
    log_in(client, other)
    assert post(client, undo, {}).status_code == 403
    log_in(client, learners[0])
    assert post(client, undo, {}).status_code == 403

    log_in(client, author)
    assert location(post(client, undo, {})) == "/reviews?undone=3"
    back = client.get("/reviews?undone=3").text
    assert "3 answers are back in the queue" in back and f'data-group-id="{group_id}"' in back
    again = post(client, undo, {})
    assert again.status_code == 409 and "undone already" in again.text
    log_in(client, learners[0])
    result = client.get(f"/attempts/{attempt_ids[0]}/result").text
    assert 'data-grader-feedback="ai"' in result and "a teacher will review this grade" in result
