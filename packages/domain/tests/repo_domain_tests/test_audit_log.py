"""The audit log: admin and author actions commit with their log line, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_db.models import Role
from repo_domain import accounts, assessments, attempts, audit
from repo_domain.common import Actor
from repo_domain.errors import Conflict, Forbidden
from repo_domain.questions import QuestionSpec
from repo_domain_tests.factories import make_actor, make_quiz, wiped


def _log(engine: Engine, admin: Actor, **where: object) -> list[tuple[str, dict, dict]]:
    with unit_of_work(read_only=True, bind=engine) as session:
        page = audit.list_events(session, actor=admin, limit=100, **where)  # type: ignore[arg-type]
        return [(e.action, e.before, e.after) for e in page.items]


def test_an_authors_actions_are_logged_with_only_what_changed(db_engine: Engine) -> None:
    with wiped(db_engine) as engine:
        admin = make_actor(engine, Role.ADMIN)
        author = make_actor(engine, Role.AUTHOR)
        with unit_of_work(bind=engine) as session:
            draft = assessments.create_assessment(
                session,
                actor=author,
                title="Logged",
                description="",
                time_limit_seconds=None,
                pass_percent=50,
                questions=[],
            )
            assessment_id = draft.id
        with unit_of_work(bind=engine) as session:
            question = assessments.add_question(
                session,
                actor=author,
                assessment_id=assessment_id,
                spec=QuestionSpec(kind="numeric", prompt="6 x 7?", points=2, numeric_answer=42),
            )
            question_id = question.id
            assessments.change_question(
                session,
                actor=author,
                assessment_id=assessment_id,
                question_id=question_id,
                spec=QuestionSpec(kind="numeric", prompt="6 x 7?", points=3, numeric_answer=42),
            )
            # Nothing changed: no line.
            assessments.update_assessment(
                session, actor=author, assessment_id=assessment_id, title="Logged"
            )
            assessments.update_assessment(
                session, actor=author, assessment_id=assessment_id, title="Logged again"
            )
            assessments.publish(session, actor=author, assessment_id=assessment_id)
        assert _log(engine, admin, subject="assessment", subject_id=assessment_id) == [
            ("assessment.published", {"status": "draft"}, {"status": "published"}),
            ("assessment.updated", {"title": "Logged"}, {"title": "Logged again"}),
            ("assessment.created", {}, {"title": "Logged", "questions": 0}),
        ]
        question_log = _log(engine, admin, subject="question", subject_id=question_id)
        assert [action for action, _, _ in question_log] == ["question.updated", "question.added"]
        assert question_log[0][1:] == ({"points": 2.0}, {"points": 3.0})
        with unit_of_work(read_only=True, bind=engine) as session, pytest.raises(Forbidden):
            audit.list_events(session, actor=author, limit=10)


def test_a_refused_change_logs_nothing(db_engine: Engine) -> None:
    with wiped(db_engine) as engine:
        admin = make_actor(engine, Role.ADMIN)
        with pytest.raises(Conflict), unit_of_work(bind=engine) as session:
            accounts.update_user(session, actor=admin, user_id=admin.id, role=Role.LEARNER)
        learner = make_actor(engine)
        with unit_of_work(bind=engine) as session:
            plan = accounts.plan_user_update(
                session, actor=admin, user_id=learner.id, role="author", is_active=False
            )
            # Planned, not applied: the confirmation page's data.
            assert (plan.before, plan.after) == (
                {"role": "learner", "is_active": True},
                {"role": "author", "is_active": False},
            )
        assert _log(engine, admin, subject="user") == []
        with unit_of_work(bind=engine) as session:
            accounts.update_user(session, actor=admin, user_id=learner.id, role="author")
        assert _log(engine, admin, subject="user", subject_id=learner.id) == [
            ("user.updated", {"role": "learner"}, {"role": "author"})
        ]


def test_standing_tells_start_resume_retake_and_no_attempts_left(db_engine: Engine) -> None:
    with wiped(db_engine) as engine:
        author = make_actor(engine, Role.AUTHOR)
        learner = make_actor(engine)
        quiz = make_quiz(engine, author, max_attempts=2)

        def action() -> attempts.StartAction:
            with unit_of_work(read_only=True, bind=engine) as session:
                assessment = assessments.get_visible(session, actor=learner, assessment_id=quiz.id)
                return attempts.standing(session, actor=learner, assessment=assessment).action

        assert action() == attempts.StartAction.START
        for expected in (attempts.StartAction.RETAKE, attempts.StartAction.NO_ATTEMPTS_LEFT):
            with unit_of_work(bind=engine) as session:
                attempt, _ = attempts.start_attempt(session, actor=learner, assessment_id=quiz.id)
                attempt_id = attempt.id
            assert action() == attempts.StartAction.RESUME
            with unit_of_work(bind=engine) as session:
                attempts.submit(session, actor=learner, attempt_id=attempt_id)
            assert action() == expected
        # What the page says matches what starting does.
        with pytest.raises(Conflict), unit_of_work(bind=engine) as session:
            attempts.start_attempt(session, actor=learner, assessment_id=quiz.id)
