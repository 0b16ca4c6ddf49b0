"""Authoring rules in the domain: settings and question validation, the spec that round-trips
every column, and questions edited one at a time without touching the others' rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select

from repo_db import unit_of_work
from repo_db.models import (
    AnswerOption,
    AssessmentStatus,
    Question,
    QuestionKind,
    Role,
    ShowAnswers,
    User,
)
from repo_db.testing import truncate_all
from repo_domain import assessments
from repo_domain.common import Actor
from repo_domain.errors import Conflict, InvalidInput, NotFound
from repo_domain.questions import OptionSpec, QuestionSpec, content_columns
from repo_domain.validation import (
    ADAPTIVE_LENGTH_MAX,
    DESCRIPTION_MAX,
    MAX_ATTEMPTS_MAX,
    NUMBER_MAX,
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    PROMPT_MAX,
    RUBRIC_KEYWORD_MAX,
    RUBRIC_KEYWORDS_MAX,
    SEARCH_QUERY_MAX,
    TIME_LIMIT_SECONDS_MAX,
    TITLE_MAX,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEYWORDS = ("full table scan|every row", "b-tree|sorted")


def single(prompt: str = "2 + 2 = ?", **changes: Any) -> QuestionSpec:
    spec = QuestionSpec(
        kind=QuestionKind.SINGLE_CHOICE,
        prompt=prompt,
        points=2,
        options=(OptionSpec("3"), OptionSpec("4", True), OptionSpec("5")),
    )
    return dataclasses.replace(spec, **changes)


def numeric(**changes: Any) -> QuestionSpec:
    spec = QuestionSpec(
        kind=QuestionKind.NUMERIC, prompt="The answer?", numeric_answer=42, numeric_tolerance=0.5
    )
    return dataclasses.replace(spec, **changes)


def free_text(**changes: Any) -> QuestionSpec:
    spec = QuestionSpec(
        kind=QuestionKind.FREE_TEXT,
        prompt="Why an index?",
        points=4,
        reference_answer="It avoids a full table scan.",
        rubric_keywords=KEYWORDS,
    )
    return dataclasses.replace(spec, **changes)


def multiple() -> QuestionSpec:
    return QuestionSpec(
        kind=QuestionKind.MULTIPLE_CHOICE,
        prompt="Pick the primes",
        points=3,
        options=(OptionSpec("2", True), OptionSpec("4"), OptionSpec("5", True)),
    )


# --- the spec covers the model -----------------------------------------------------------


def test_the_spec_has_a_field_for_every_content_column() -> None:
    """Fails when a column is added to Question/AnswerOption but not to the spec."""
    question_fields = {f.name for f in dataclasses.fields(QuestionSpec)} - {"options"}
    question_columns = {attr.key for attr in inspect(Question).column_attrs}
    # `version` says which version the row holds (0014), not what it asks.
    assert question_fields == question_columns - {"id", "assessment_id", "position", "version"}
    assert set(content_columns(Question)) == question_fields
    option_fields = {f.name for f in dataclasses.fields(OptionSpec)}
    option_columns = {attr.key for attr in inspect(AnswerOption).column_attrs}
    assert option_fields == option_columns - {"id", "question_id", "position"}


# --- question rules (no database) --------------------------------------------------------


def refused(spec: QuestionSpec) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        spec.validated()
    return info.value


def test_valid_specs_come_back_cleaned() -> None:
    cleaned = free_text(prompt="  Why?  \n", kind="free_text").validated()
    assert cleaned.kind is QuestionKind.FREE_TEXT and cleaned.prompt == "Why?"
    assert cleaned.rubric_keywords == KEYWORDS
    assert numeric().validated().numeric_tolerance == 0.5
    assert multiple().validated().options == multiple().options
    assert single(prompt="x" * PROMPT_MAX).validated().prompt == "x" * PROMPT_MAX
    many = tuple(OptionSpec(f"o{i}", i == 0) for i in range(OPTIONS_MAX))
    assert len(single(options=many).validated().options) == OPTIONS_MAX
    long_option = (OptionSpec("a" * OPTION_TEXT_MAX, True), OptionSpec("b"))
    assert single(options=long_option).validated().options[0].text == "a" * OPTION_TEXT_MAX
    assert single(prompt="line one\nline two").validated().prompt == "line one\nline two"
    keywords = tuple("k" * RUBRIC_KEYWORD_MAX for _ in range(RUBRIC_KEYWORDS_MAX))
    assert free_text(rubric_keywords=keywords).validated().rubric_keywords == keywords
    assert free_text(rubric_keywords=[]).validated().rubric_keywords is None


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (single(prompt=""), "prompt"),
        (single(prompt="x" * (PROMPT_MAX + 1)), "prompt"),
        (single(prompt="nul\x00byte"), "prompt"),
        (single(prompt="\ud800"), "prompt"),
        (single(kind="essay"), "kind"),
        (single(points=0), "points"),
        (single(points=-1), "points"),
        (single(points=1e308), "points"),
        (single(points=float("nan")), "points"),
        (single(points=10**400), "points"),
        (single(options=(OptionSpec("a", True),)), "options"),
        (single(options=(OptionSpec("a", True), OptionSpec("b", True))), "options"),
        (single(options=(OptionSpec("a"), OptionSpec("b"))), "options"),
        (
            single(options=tuple(OptionSpec(f"o{i}", i == 0) for i in range(OPTIONS_MAX + 1))),
            "options",
        ),
        (
            single(options=(OptionSpec("a" * (OPTION_TEXT_MAX + 1), True), OptionSpec("b"))),
            "options[0].text",
        ),
        (single(options=(OptionSpec("a", True), OptionSpec(""))), "options[1].text"),
        (single(options=(OptionSpec("a", True), OptionSpec("b\x00"))), "options[1].text"),
        (
            single(options=(OptionSpec("a", True), OptionSpec("b", "yes"))),  # type: ignore[arg-type]
            "options[1].is_correct",
        ),
        (single(numeric_answer=1), "numeric_answer"),
        (single(rubric_keywords=("x",)), "rubric_keywords"),
        (
            QuestionSpec(
                kind=QuestionKind.MULTIPLE_CHOICE, prompt="?", options=single().options[::2]
            ),
            "options",
        ),
        (numeric(numeric_answer=None), "numeric_answer"),
        (numeric(numeric_answer=1e308), "numeric_answer"),
        (numeric(numeric_answer=-NUMBER_MAX * 10), "numeric_answer"),
        (numeric(numeric_answer=float("inf")), "numeric_answer"),
        (numeric(numeric_tolerance=-1), "numeric_tolerance"),
        (numeric(options=(OptionSpec("a", True), OptionSpec("b"))), "options"),
        (numeric(reference_answer="why"), "reference_answer"),
        (free_text(numeric_tolerance=1), "numeric_tolerance"),
        (free_text(options=(OptionSpec("a"),)), "options"),
        (free_text(reference_answer="nul\x00"), "reference_answer"),
        (free_text(rubric_keywords=("",)), "rubric_keywords"),
        (free_text(rubric_keywords=("two\nlines",)), "rubric_keywords"),
        (free_text(rubric_keywords=("k" * (RUBRIC_KEYWORD_MAX + 1),)), "rubric_keywords"),
        (free_text(rubric_keywords=("k",) * (RUBRIC_KEYWORDS_MAX + 1)), "rubric_keywords"),
        (free_text(rubric_keywords="not a list"), "rubric_keywords"),
    ],
)
def test_invalid_questions_are_refused_naming_the_field(spec: QuestionSpec, field: str) -> None:
    error = refused(spec)
    assert error.field == field, error.message


# --- database fixtures ---------------------------------------------------------------------


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    try:
        yield db_engine
    finally:
        truncate_all(db_engine)


def make_actor(engine: Engine, role: Role = Role.AUTHOR) -> Actor:
    with unit_of_work(bind=engine) as session:
        user = User(
            email=f"{role}-{datetime.now(UTC).timestamp()}-{id(session)}@example.test",
            password_hash="x",
            display_name="Author",
            role=role,
        )
        session.add(user)
        session.flush()
        return Actor(id=user.id, role=role)


def create(engine: Engine, actor: Actor, specs: list[QuestionSpec], **settings: Any) -> int:
    values: dict[str, Any] = {
        "title": "Databases",
        "description": "Indexes",
        "time_limit_seconds": 600,
        "pass_percent": 50,
    }
    values.update(settings)
    with unit_of_work(bind=engine) as session:
        return assessments.create_assessment(session, actor=actor, questions=specs, **values).id


def snapshot(engine: Engine, assessment_id: int) -> dict[int, dict[str, Any]]:
    """Every column of every question and its options, by question id."""
    with unit_of_work(read_only=True, bind=engine) as session:
        questions = session.scalars(
            select(Question).where(Question.assessment_id == assessment_id)
        ).all()
        out = {}
        for q in questions:
            options = session.scalars(
                select(AnswerOption)
                .where(AnswerOption.question_id == q.id)
                .order_by(AnswerOption.position)
            ).all()
            row = {attr.key: getattr(q, attr.key) for attr in inspect(Question).column_attrs}
            row["options"] = [
                {attr.key: getattr(o, attr.key) for attr in inspect(AnswerOption).column_attrs}
                for o in options
            ]
            out[q.id] = row
        return out


def order(engine: Engine, assessment_id: int) -> list[int]:
    rows = snapshot(engine, assessment_id)
    return sorted(rows, key=lambda qid: rows[qid]["position"])


def without_position(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "position"}


# --- per-question commands -----------------------------------------------------------------


def test_from_model_round_trips_every_column(engine: Engine) -> None:
    actor = make_actor(engine)
    specs = [single(), multiple(), numeric(), free_text()]
    assessment_id = create(engine, actor, specs)
    with unit_of_work(read_only=True, bind=engine) as session:
        view = assessments.load_view(
            session,
            assessment=assessments.get_managed(session, actor=actor, assessment_id=assessment_id),
        )
        read_back = [QuestionSpec.from_model(q, view.options[q.id]) for q in view.questions]
    assert read_back == [spec.validated() for spec in specs]
    assert read_back[3].rubric_keywords == KEYWORDS


def test_add_change_move_delete_leave_the_other_questions_alone(engine: Engine) -> None:
    actor = make_actor(engine)
    assessment_id = create(engine, actor, [single(), free_text(), numeric(), multiple()])
    before = snapshot(engine, assessment_id)
    first, keywords_q, numeric_q, last = order(engine, assessment_id)

    with unit_of_work(bind=engine) as session:
        added = assessments.add_question(
            session, actor=actor, assessment_id=assessment_id, spec=free_text(prompt="Added")
        ).id
    after = snapshot(engine, assessment_id)
    assert {k: after[k] for k in before} == before
    assert after[added]["position"] == 4 and after[added]["rubric_keywords"] == list(KEYWORDS)

    with unit_of_work(bind=engine) as session:
        assessments.change_question(
            session,
            actor=actor,
            assessment_id=assessment_id,
            question_id=numeric_q,
            spec=single(prompt="Now a choice"),
        )
    changed = snapshot(engine, assessment_id)
    assert {k: v for k, v in changed.items() if k != numeric_q} == {
        k: v for k, v in after.items() if k != numeric_q
    }
    assert changed[numeric_q]["kind"] == QuestionKind.SINGLE_CHOICE
    assert changed[numeric_q]["position"] == 2 and changed[numeric_q]["numeric_answer"] is None
    assert [o["text"] for o in changed[numeric_q]["options"]] == ["3", "4", "5"]

    for target, expected in [
        (0, [added, first, keywords_q, numeric_q, last]),  # last to first
        (4, [first, keywords_q, numeric_q, last, added]),  # first to last
        (2, [first, keywords_q, added, numeric_q, last]),  # into the middle
        (2, [first, keywords_q, added, numeric_q, last]),  # where it already is
    ]:
        with unit_of_work(bind=engine) as session:
            assessments.move_question(
                session,
                actor=actor,
                assessment_id=assessment_id,
                question_id=added,
                position=target,
            )
        assert order(engine, assessment_id) == expected
    moved = snapshot(engine, assessment_id)
    assert {k: without_position(v) for k, v in moved.items()} == {
        k: without_position(v) for k, v in changed.items()
    }
    assert sorted(v["position"] for v in moved.values()) == [0, 1, 2, 3, 4]

    with unit_of_work(bind=engine) as session:
        assessments.delete_question(
            session, actor=actor, assessment_id=assessment_id, question_id=first
        )
    deleted = snapshot(engine, assessment_id)
    assert order(engine, assessment_id) == [keywords_q, added, numeric_q, last]
    assert [deleted[q]["position"] for q in order(engine, assessment_id)] == [0, 1, 2, 3]
    assert {k: without_position(v) for k, v in deleted.items()} == {
        k: without_position(v) for k, v in moved.items() if k != first
    }
    assert deleted[keywords_q]["rubric_keywords"] == list(KEYWORDS)
    with unit_of_work(read_only=True, bind=engine) as session:
        orphans = session.scalars(select(AnswerOption).where(AnswerOption.question_id == first))
        assert orphans.all() == []


def test_question_commands_check_state_owner_and_input(engine: Engine) -> None:
    actor = make_actor(engine)
    stranger = make_actor(engine)
    assessment_id = create(engine, actor, [single(), numeric()])
    other_id = create(engine, actor, [numeric()])
    question_id, numeric_id = order(engine, assessment_id)
    foreign_question = order(engine, other_id)[0]

    def run(command: Any, who: Actor = actor, **kwargs: Any) -> Any:
        with unit_of_work(bind=engine) as session:
            return command(session, actor=who, assessment_id=assessment_id, **kwargs)

    with pytest.raises(NotFound):
        run(assessments.change_question, question_id=foreign_question, spec=single())
    with pytest.raises(NotFound):  # someone else's draft does not exist for them
        run(assessments.add_question, who=stranger, spec=single())
    for position in (-1, 2, 10**30, 1.5):
        with pytest.raises(InvalidInput) as info:
            run(assessments.move_question, question_id=question_id, position=position)
        assert info.value.field == "position"
    with pytest.raises(InvalidInput) as info:
        run(assessments.change_question, question_id=numeric_id, spec=numeric(numeric_answer=1e308))
    assert info.value.field == "numeric_answer"
    with pytest.raises(InvalidInput) as info:
        run(assessments.add_question, spec=single(prompt="x" * (PROMPT_MAX + 1)))
    assert info.value.field == "prompt"
    assert len(snapshot(engine, assessment_id)) == 2  # nothing half-written

    with unit_of_work(bind=engine) as session:
        assessments.publish(session, actor=actor, assessment_id=assessment_id)
    frozen = snapshot(engine, assessment_id)
    # Published: a question can be corrected (test_regrade), not added, moved or deleted.
    commands: list[tuple[Any, dict[str, Any]]] = [
        (assessments.add_question, {"spec": single()}),
        (assessments.move_question, {"question_id": question_id, "position": 1}),
        (assessments.delete_question, {"question_id": question_id}),
    ]
    for command, kwargs in commands:
        with pytest.raises(Conflict) as conflict:
            run(command, **kwargs)
        assert conflict.value.code == "not_draft"
    assert snapshot(engine, assessment_id) == frozen


# --- assessment settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * (TITLE_MAX + 1)}, "title"),
        ({"title": "two\nlines"}, "title"),
        ({"title": "nul\x00"}, "title"),
        ({"description": "d" * (DESCRIPTION_MAX + 1)}, "description"),
        ({"description": "nul\x00"}, "description"),
        ({"time_limit_seconds": 1}, "time_limit_seconds"),
        ({"time_limit_seconds": TIME_LIMIT_SECONDS_MAX + 1}, "time_limit_seconds"),
        ({"time_limit_seconds": 10**30}, "time_limit_seconds"),
        ({"time_limit_seconds": 1e308}, "time_limit_seconds"),
        ({"pass_percent": -1}, "pass_percent"),
        ({"pass_percent": 1e308}, "pass_percent"),
        ({"pass_percent": float("nan")}, "pass_percent"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": MAX_ATTEMPTS_MAX + 1}, "max_attempts"),
        ({"show_answers": "sometimes"}, "show_answers"),
        ({"show_answers": ShowAnswers.AFTER_CLOSE}, "closes_at"),
        ({"adaptive_target_se": 0}, "adaptive_target_se"),
        ({"adaptive_target_se": 2.5}, "adaptive_target_se"),
        ({"adaptive_min_length": 0}, "adaptive_min_length"),
        ({"adaptive_min_length": 2.5}, "adaptive_min_length"),
        ({"adaptive_max_length": ADAPTIVE_LENGTH_MAX + 1}, "adaptive_max_length"),
        ({"adaptive_max_length": True}, "adaptive_max_length"),
        ({"adaptive_min_length": 10, "adaptive_max_length": 5}, "adaptive_min_length"),
        ({"adaptive_max_exposure": 0.01}, "adaptive_max_exposure"),
        ({"adaptive_max_exposure": 1.5}, "adaptive_max_exposure"),
        ({"adaptive_max_exposure": float("nan")}, "adaptive_max_exposure"),
    ],
)
def test_invalid_settings_are_refused(engine: Engine, settings: dict[str, Any], field: str) -> None:
    actor = make_actor(engine)
    with pytest.raises(InvalidInput) as info:
        create(engine, actor, [], **settings)
    assert info.value.field == field, info.value.message


def test_a_question_list_error_names_the_question(engine: Engine) -> None:
    actor = make_actor(engine)
    with pytest.raises(InvalidInput) as info:
        create(engine, actor, [single(), numeric(numeric_tolerance=-1)])
    assert info.value.field == "questions[1].numeric_tolerance"
    assert info.value.message.startswith("question 2:")


def test_update_changes_only_what_is_given(engine: Engine) -> None:
    actor = make_actor(engine)
    assessment_id = create(engine, actor, [single()], max_attempts=3)
    with unit_of_work(bind=engine) as session:
        updated = assessments.update_assessment(
            session, actor=actor, assessment_id=assessment_id, time_limit_seconds=None
        )
        assert updated.time_limit_seconds is None  # None clears the limit
        assert updated.max_attempts == 3 and updated.title == "Databases"
    with unit_of_work(bind=engine) as session:
        with pytest.raises(InvalidInput) as info:
            assessments.update_assessment(
                session, actor=actor, assessment_id=assessment_id, title="New", pass_percent=1e308
            )
        assert info.value.field == "pass_percent"
        # Nothing half-applied that the caller's unit of work would commit (a web form error).
        session.flush()
        assert assessments.get_managed(session, actor=actor, assessment_id=assessment_id).title == (
            "Databases"
        )
    with unit_of_work(bind=engine) as session:
        assessments.publish(session, actor=actor, assessment_id=assessment_id)
        published = assessments.update_assessment(
            session, actor=actor, assessment_id=assessment_id, title="Renamed", max_attempts=None
        )
        assert published.status == AssessmentStatus.PUBLISHED and published.max_attempts is None
    with pytest.raises(Conflict), unit_of_work(bind=engine) as session:
        assessments.update_assessment(
            session, actor=actor, assessment_id=assessment_id, pass_percent=10
        )


def test_adaptive_limits_are_stored_changed_and_reset(engine: Engine) -> None:
    actor = make_actor(engine)
    assessment_id = create(
        engine,
        actor,
        [single()],
        adaptive=True,
        adaptive_min_length=3,
        adaptive_max_length=12,
        adaptive_max_exposure=0.25,
    )
    with unit_of_work(bind=engine) as session:
        assessments.publish(session, actor=actor, assessment_id=assessment_id)
        # Published: the limits still change (they steer later attempts, not scores).
        updated = assessments.update_assessment(
            session, actor=actor, assessment_id=assessment_id, adaptive_max_length=8
        )
        assert (updated.adaptive_min_length, updated.adaptive_max_length) == (3, 8)
        assert updated.adaptive_max_exposure == 0.25
    with unit_of_work(bind=engine) as session:
        # Checked against the stored minimum; nothing half-applied.
        with pytest.raises(InvalidInput) as info:
            assessments.update_assessment(
                session,
                actor=actor,
                assessment_id=assessment_id,
                adaptive_max_exposure=0.5,
                adaptive_max_length=2,
            )
        assert info.value.field == "adaptive_min_length"
        session.flush()
        kept = assessments.get_managed(session, actor=actor, assessment_id=assessment_id)
        assert (kept.adaptive_max_length, kept.adaptive_max_exposure) == (8, 0.25)
    with unit_of_work(bind=engine) as session:
        reset = assessments.update_assessment(
            session,
            actor=actor,
            assessment_id=assessment_id,
            adaptive_min_length=None,
            adaptive_max_length=None,
            adaptive_max_exposure=None,
        )
        assert (
            reset.adaptive_min_length,
            reset.adaptive_max_length,
            reset.adaptive_max_exposure,
        ) == (None, None, None)


def test_search_text_is_checked(engine: Engine) -> None:
    for query in ("nul\x00", "q" * (SEARCH_QUERY_MAX + 1), "two\nlines"):
        with pytest.raises(InvalidInput) as info, unit_of_work(read_only=True, bind=engine) as s:
            assessments.list_published(s, query=query, after=None, limit=10)
        assert info.value.field == "query"
    with unit_of_work(read_only=True, bind=engine) as session:
        page = assessments.list_published(
            session, query="q" * SEARCH_QUERY_MAX, after=None, limit=10
        )
        assert page.items == []
