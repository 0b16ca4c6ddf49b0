"""Question versions and regrade (repo_domain.assessments.change_question on a published
assessment, repo_domain.regrade): a correction is a new version, submitted answers keep theirs
until a regrade, the dry run writes nothing, the regrade writes results, versions and an audit
event; graded free text keeps its grade unless the rubric changed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, select

from repo_db import unit_of_work
from repo_db.models import (
    AnswerOption,
    Attempt,
    AttemptStatus,
    FeedbackSource,
    GradingStatus,
    Job,
    Question,
    QuestionKind,
    Response,
    Result,
    Role,
)
from repo_domain import assessments, attempts, audit, grading, regrade
from repo_domain.common import Actor
from repo_domain.errors import Conflict, Forbidden, InvalidInput
from repo_domain.questions import QuestionSpec
from repo_domain_tests.factories import Quiz, make_actor, make_quiz, take_attempt, wiped

SINGLE = (QuestionKind.SINGLE_CHOICE, QuestionKind.NUMERIC)


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


def _spec(engine: Engine, question_id: int) -> QuestionSpec:
    with unit_of_work(read_only=True, bind=engine) as session:
        question = session.get(Question, question_id)
        assert question is not None
        options = session.scalars(
            select(AnswerOption)
            .where(AnswerOption.question_id == question_id)
            .order_by(AnswerOption.position)
        ).all()
        return QuestionSpec.from_model(question, options)


def _correct(
    engine: Engine, actor: Actor, quiz: Quiz, question_id: int, spec: QuestionSpec
) -> None:
    with unit_of_work(bind=engine) as session:
        assessments.change_question(
            session, actor=actor, assessment_id=quiz.id, question_id=question_id, spec=spec
        )


def _regrade(
    engine: Engine, actor: Actor, quiz: Quiz, question_id: int, **kwargs: Any
) -> regrade.RegradeReport:
    with unit_of_work(read_only=kwargs.get("dry_run", True), bind=engine) as session:
        return regrade.regrade(
            session, actor=actor, assessment_id=quiz.id, question_id=question_id, **kwargs
        )


def _state(engine: Engine, attempt_id: int, question_id: int) -> tuple[Any, ...]:
    with unit_of_work(read_only=True, bind=engine) as session:
        result = session.scalars(select(Result).where(Result.attempt_id == attempt_id)).one()
        response = session.scalars(
            select(Response).where(
                Response.attempt_id == attempt_id, Response.question_id == question_id
            )
        ).one()
        return (
            result.score,
            result.max_score,
            result.passed,
            result.regraded_at is not None,
            response.question_version,
            response.score,
        )


def _key_on_first_option(spec: QuestionSpec) -> QuestionSpec:
    """The wrong key fixed: the first option (o0) is the right one, not the second."""
    return replace(
        spec, options=tuple(replace(o, is_correct=i == 0) for i, o in enumerate(spec.options))
    )


def test_a_correction_is_a_new_version_and_old_answers_keep_theirs(engine: Engine) -> None:
    author, early, late = (make_actor(engine, r) for r in (Role.AUTHOR, Role.LEARNER, Role.LEARNER))
    quiz = make_quiz(engine, author, kinds=SINGLE)
    single, numeric = quiz.question_ids
    # Chose o0, wrong under version 1 (the key says o1); the numeric answer is right: 1 of 3.
    answers = {single: quiz.wrong[single], numeric: quiz.right[numeric]}
    before = take_attempt(engine, early, quiz, answers)
    assert _state(engine, before, single) == (1.0, 3.0, False, False, 1, 0.0)

    _correct(engine, author, quiz, single, _key_on_first_option(_spec(engine, single)))

    with unit_of_work(read_only=True, bind=engine) as session:
        history = regrade.versions(session, actor=author, assessment_id=quiz.id, question_id=single)
    assert [(v.version, v.created_by_id, v.answers) for v in history] == [
        (2, author.id, 0),
        (1, None, 1),  # snapshotted when first corrected (the factory wrote no version row)
    ]
    assert [o["is_correct"] for o in history[0].content["options"]] == [True, False, False]
    assert [o["is_correct"] for o in history[1].content["options"]] == [False, True, False]
    assert [o["id"] for o in history[0].content["options"]] == [
        o["id"] for o in history[1].content["options"]
    ]
    # Untouched by the correction, and by a recomputation for another reason.
    with unit_of_work(bind=engine) as session:
        grading.refresh_result(session, attempt_id=before)
    assert _state(engine, before, single) == (1.0, 3.0, False, False, 1, 0.0)
    # A new attempt answers (and is scored against) version 2.
    after = take_attempt(engine, late, quiz, answers)
    assert _state(engine, after, single) == (3.0, 3.0, True, False, 2, 2.0)


def test_dry_run_writes_nothing_and_the_regrade_writes_everything(engine: Engine) -> None:
    author, learner = make_actor(engine, Role.AUTHOR), make_actor(engine)
    admin = make_actor(engine, Role.ADMIN)
    quiz = make_quiz(engine, author, kinds=SINGLE)
    single, numeric = quiz.question_ids
    attempt = take_attempt(
        engine, learner, quiz, {single: quiz.wrong[single], numeric: quiz.right[numeric]}
    )
    _correct(engine, author, quiz, single, _key_on_first_option(_spec(engine, single)))

    preview = _regrade(engine, author, quiz, single, dry_run=True)
    assert preview.dry_run and preview.regraded_at is None and preview.version == 2
    [row] = preview.attempts
    assert (row.attempt_id, row.old_version, row.old_score, row.new_score) == (attempt, 1, 1.0, 3.0)
    assert (row.old_passed, row.new_passed, row.changed) == (False, True, True)
    assert _state(engine, attempt, single) == (1.0, 3.0, False, False, 1, 0.0)

    applied = _regrade(engine, author, quiz, single, dry_run=False)
    assert [r.new_score for r in applied.attempts] == [3.0] and applied.changed == 1
    assert _state(engine, attempt, single) == (3.0, 3.0, True, True, 2, 2.0)
    with unit_of_work(read_only=True, bind=engine) as session:
        page = audit.list_events(
            session, actor=admin, subject="question", subject_id=single, limit=5
        )
        regraded, corrected = page.items[:2]
        result = attempts.get_result(session, actor=learner, attempt_id=attempt)
    assert (corrected.action, corrected.before, corrected.after) == (
        "question.corrected",
        {"version": 1},
        {"version": 2},
    )
    assert regraded.action == "question.regraded"
    assert regraded.before == {
        "versions": [1],
        "total_score": 1.0,
        "passed": 0,
        "regraded_attempts": 0,
    }
    assert regraded.after == {
        "versions": [2],
        "total_score": 3.0,
        "passed": 1,
        "regraded_attempts": 1,
    }
    assert result.regraded_at is not None
    # Nothing left to regrade.
    assert _regrade(engine, author, quiz, single, dry_run=True).attempts == []


def test_batches_give_the_same_report(engine: Engine) -> None:
    author = make_actor(engine, Role.AUTHOR)
    quiz = make_quiz(engine, author, kinds=SINGLE)
    single, numeric = quiz.question_ids
    for i in range(5):
        answer = quiz.wrong[single] if i % 2 else quiz.right[single]
        take_attempt(engine, make_actor(engine), quiz, {single: answer})
    spec = _key_on_first_option(_spec(engine, single))
    _correct(engine, author, quiz, single, replace(spec, points=4.0))
    whole = _regrade(engine, author, quiz, single, dry_run=True)
    batched = _regrade(engine, author, quiz, single, dry_run=True, batch=2)
    assert whole.attempts == batched.attempts and len(whole.attempts) == 5
    # Right before (o1), wrong now, and the other way round; the maximum moved from 3 to 5.
    assert [(r.old_score, r.new_score, r.new_max_score) for r in whole.attempts] == [
        (2.0, 0.0, 5.0) if i % 2 == 0 else (0.0, 4.0, 5.0) for i in range(5)
    ]
    _regrade(engine, author, quiz, single, dry_run=False, batch=2)
    with unit_of_work(read_only=True, bind=engine) as session:
        scores = session.scalars(select(Result.score).order_by(Result.attempt_id)).all()
        versions = set(
            session.scalars(select(Response.question_version).where(Response.question_id == single))
        )
    assert scores == [0.0, 4.0, 0.0, 4.0, 0.0] and versions == {2}


def _grade_free_text(engine: Engine, attempt_id: int, question_id: int, fraction: float) -> None:
    with unit_of_work(bind=engine) as session:
        response = session.scalars(
            select(Response).where(
                Response.attempt_id == attempt_id, Response.question_id == question_id
            )
        ).one()
        question = session.get(Question, question_id)
        assert question is not None
        grading.record_grade(
            session,
            response=response,
            question=question,
            fraction=fraction,
            comment="Reviewed.",
            source=FeedbackSource.HUMAN,
            model_version="reviewer",
        )
        grading.refresh_result(session, attempt_id=attempt_id)


def test_a_persons_grade_is_kept_unless_the_rubric_changed(engine: Engine) -> None:
    author, learner = make_actor(engine, Role.AUTHOR), make_actor(engine)
    quiz = make_quiz(engine, author, kinds=(QuestionKind.FREE_TEXT,))
    [free] = quiz.question_ids
    attempt = take_attempt(engine, learner, quiz, {free: quiz.right[free]})
    _grade_free_text(engine, attempt, free, 0.5)  # 2 of 4
    assert _state(engine, attempt, free)[:3] == (2.0, 4.0, True)

    spec = _spec(engine, free)
    _correct(engine, author, quiz, free, replace(spec, points=8.0))  # same rubric
    [row] = _regrade(engine, author, quiz, free, dry_run=False).attempts
    assert (row.old_score, row.new_score, row.new_max_score, row.new_passed) == (
        2.0,
        4.0,
        8.0,
        True,
    )
    assert _state(engine, attempt, free) == (4.0, 8.0, True, True, 2, 4.0)

    _correct(engine, author, quiz, free, replace(spec, points=8.0, rubric_keywords=("recursion",)))
    [row] = _regrade(engine, author, quiz, free, dry_run=False).attempts
    assert (row.new_score, row.new_passed) == (0.0, None)
    with unit_of_work(read_only=True, bind=engine) as session:
        response = session.scalars(select(Response).where(Response.question_id == free)).one()
        status = session.scalar(select(Attempt.status).where(Attempt.id == attempt))
        job = session.scalars(select(Job).where(Job.subject_id == attempt)).all()
    assert (response.grading_status, response.score, response.question_version) == (
        GradingStatus.PENDING,
        None,
        3,
    )
    assert status == AttemptStatus.GRADING
    assert {(j.kind, j.status) for j in job} >= {(grading.GRADE_ATTEMPT, "queued")}


def test_what_a_correction_may_not_change(engine: Engine) -> None:
    author, stranger = make_actor(engine, Role.AUTHOR), make_actor(engine, Role.AUTHOR)
    quiz = make_quiz(engine, author, kinds=SINGLE)
    single, numeric = quiz.question_ids
    spec = _spec(engine, single)
    with pytest.raises(InvalidInput) as kind:
        _correct(engine, author, quiz, single, replace(spec, kind=QuestionKind.MULTIPLE_CHOICE))
    assert kind.value.field == "kind"
    with pytest.raises(InvalidInput) as options:
        _correct(engine, author, quiz, single, replace(spec, options=spec.options[:2]))
    assert options.value.field == "options"
    _correct(engine, author, quiz, single, spec)  # the same content: no new version
    with unit_of_work(read_only=True, bind=engine) as session:
        assert session.scalar(select(Question.version).where(Question.id == single)) == 1
        with pytest.raises(Forbidden):
            regrade.regrade(
                session,
                actor=stranger,
                assessment_id=quiz.id,
                question_id=single,
                dry_run=True,
            )
    with unit_of_work(bind=engine) as session:
        assessments.archive(session, actor=author, assessment_id=quiz.id)
    with pytest.raises(Conflict) as archived:
        _correct(engine, author, quiz, single, _key_on_first_option(spec))
    assert archived.value.code == "archived"
