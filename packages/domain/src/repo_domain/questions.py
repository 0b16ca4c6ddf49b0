"""A question's content as an author writes it: the spec, its rules, and its rows.

`QuestionSpec` mirrors every content column of `Question` (all but its identity: id,
assessment_id, position) plus the options. `from_model` reads a spec back from the rows and
`column_values` writes one, both by column name, so an edit cannot forget a column that a
hand-picked field list would miss (that is how a web edit once dropped `rubric_keywords`);
test_authoring fails when a column is added to the model but not to the spec.

The rules live in `QuestionSpec.validated()`, whichever adapter built the spec.

Versions (migration 0014): the `questions` row holds the newest version of a question and
`question_versions` a snapshot of each (`snapshot`). A draft is edited in place and its one
snapshot rewritten; a published question is corrected into a new version (`correct_content`,
repo_domain.assessments.change_question), which keeps the option rows and their ids, because
past answers name the options they chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from repo_db.models import AnswerOption, Question, QuestionKind, QuestionVersion
from repo_domain.common import utcnow
from repo_domain.errors import InvalidInput
from repo_domain.validation import (
    NUMBER_MAX,
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    OPTIONS_MIN,
    POINTS_MAX,
    POINTS_MIN,
    PROMPT_MAX,
    REFERENCE_ANSWER_MAX,
    RUBRIC_KEYWORD_MAX,
    RUBRIC_KEYWORDS_MAX,
    count_at_most,
    number,
    optional_text,
    text,
)

#: Columns that say where a row is, not what it says: never part of a spec.
QUESTION_IDENTITY = frozenset({"id", "assessment_id", "position", "version"})
OPTION_IDENTITY = frozenset({"id", "question_id", "position"})
CHOICE_KINDS = frozenset({QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE})


def content_columns(model: type[Question] | type[AnswerOption]) -> tuple[str, ...]:
    """The mapped attributes of `model` that a spec carries."""
    identity = QUESTION_IDENTITY if model is Question else OPTION_IDENTITY
    return tuple(attr.key for attr in model.__mapper__.column_attrs if attr.key not in identity)


def _as_column_value(value: Any) -> Any:
    # JSON columns store lists; a spec holds any sequence (tuples keep it hashable).
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True, slots=True)
class OptionSpec:
    text: str
    is_correct: bool = False

    @classmethod
    def from_model(cls, option: AnswerOption) -> OptionSpec:
        return cls(**{name: getattr(option, name) for name in content_columns(AnswerOption)})

    def column_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in content_columns(AnswerOption)}


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    """A question's content. `kind` may be a raw string from a form: `validated()` parses it."""

    kind: QuestionKind | str
    prompt: str
    points: float = 1.0
    numeric_answer: float | None = None  # numeric: the correct value
    numeric_tolerance: float | None = None  # numeric: absolute tolerance
    reference_answer: str | None = None  # free text: model answer for graders
    rubric_keywords: Sequence[str] | None = None  # free text: key ideas, alternatives with |
    options: Sequence[OptionSpec] = ()

    @classmethod
    def from_model(cls, question: Question, options: Sequence[AnswerOption]) -> QuestionSpec:
        """Every content column of `question` and its options (in the given order)."""
        values = {name: getattr(question, name) for name in content_columns(Question)}
        if values.get("rubric_keywords") is not None:
            values["rubric_keywords"] = tuple(values["rubric_keywords"])
        return cls(**values, options=tuple(OptionSpec.from_model(o) for o in options))

    def column_values(self) -> dict[str, Any]:
        """The `Question` columns this spec writes (options are rows of their own)."""
        return {name: _as_column_value(getattr(self, name)) for name in content_columns(Question)}

    def validated(self) -> QuestionSpec:
        """This spec cleaned and checked (limits, characters, kind/field consistency).

        Raises `InvalidInput` naming the field at fault (``prompt``, ``options[1].text``, ...).
        """
        kind = _kind(self.kind)
        free_text = kind == QuestionKind.FREE_TEXT
        numeric = kind == QuestionKind.NUMERIC
        cleaned = replace(
            self,
            kind=kind,
            prompt=text(
                self.prompt, field="prompt", max_length=PROMPT_MAX, required=True, multiline=True
            ),
            points=number(self.points, field="points", minimum=POINTS_MIN, maximum=POINTS_MAX),
            numeric_answer=_numeric_answer(self.numeric_answer) if numeric else None,
            numeric_tolerance=_tolerance(self.numeric_tolerance) if numeric else None,
            reference_answer=(
                optional_text(
                    self.reference_answer,
                    field="reference_answer",
                    max_length=REFERENCE_ANSWER_MAX,
                    multiline=True,
                )
                if free_text
                else None
            ),
            rubric_keywords=_keywords(self.rubric_keywords) if free_text else None,
            options=_options(kind, self.options),
        )
        return _only_for_kind(cleaned, given=self)


def _words(kind: QuestionKind | str) -> str:
    return str(kind).replace("_", " ")


def _kind(value: QuestionKind | str) -> QuestionKind:
    try:
        return QuestionKind(value)
    except ValueError:
        kinds = ", ".join(QuestionKind)
        raise InvalidInput(
            f"kind must be one of {kinds}", code="invalid_kind", field="kind"
        ) from None


def _numeric_answer(value: float | None) -> float:
    if value is None:
        raise InvalidInput(
            "numeric questions need numeric_answer", code="required", field="numeric_answer"
        )
    return number(value, field="numeric_answer", minimum=-NUMBER_MAX, maximum=NUMBER_MAX)


def _tolerance(value: float | None) -> float | None:
    if value is None:
        return None
    return number(value, field="numeric_tolerance", minimum=0, maximum=NUMBER_MAX)


def _keywords(values: Sequence[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    if isinstance(values, str):  # a bare string is a sequence of characters: not meant
        raise InvalidInput(
            "rubric_keywords is a list of keywords", code="invalid_text", field="rubric_keywords"
        )
    count_at_most(values, field="rubric_keywords", maximum=RUBRIC_KEYWORDS_MAX)
    return tuple(
        text(
            value if isinstance(value, str) else None,
            field="rubric_keywords",
            max_length=RUBRIC_KEYWORD_MAX,
            required=True,
        )
        for value in values
    )


def _options(kind: QuestionKind, options: Sequence[OptionSpec]) -> tuple[OptionSpec, ...]:
    if kind not in CHOICE_KINDS:
        if options:
            raise InvalidInput(
                f"{_words(kind)} questions take no options", code="options", field="options"
            )
        return ()
    count_at_most(options, field="options", maximum=OPTIONS_MAX)
    if len(options) < OPTIONS_MIN:
        raise InvalidInput(
            f"{_words(kind)} questions need at least {OPTIONS_MIN} options",
            code="too_few",
            field="options",
        )
    cleaned = []
    for i, option in enumerate(options):
        if not isinstance(option.is_correct, bool):
            raise InvalidInput(
                "is_correct is true or false", code="invalid", field=f"options[{i}].is_correct"
            )
        option_text = text(
            option.text,
            field=f"options[{i}].text",
            max_length=OPTION_TEXT_MAX,
            required=True,
            multiline=True,
        )
        cleaned.append(OptionSpec(text=option_text, is_correct=option.is_correct))
    correct = sum(o.is_correct for o in cleaned)
    if kind == QuestionKind.SINGLE_CHOICE and correct != 1:
        raise InvalidInput(
            "single choice questions need exactly one correct option",
            code="options",
            field="options",
        )
    if kind == QuestionKind.MULTIPLE_CHOICE and correct < 1:
        raise InvalidInput(
            "multiple choice questions need at least one correct option",
            code="options",
            field="options",
        )
    return tuple(cleaned)


def _only_for_kind(cleaned: QuestionSpec, *, given: QuestionSpec) -> QuestionSpec:
    """Refuse answer fields that belong to another kind instead of dropping them silently."""
    for name in ("numeric_answer", "numeric_tolerance", "reference_answer", "rubric_keywords"):
        value = getattr(given, name)
        if getattr(cleaned, name) is None and value not in (None, "", [], ()):
            raise InvalidInput(
                f"{_words(cleaned.kind)} questions take no {name}", code="not_for_kind", field=name
            )
    return cleaned


def snapshot(question: Question, options: Sequence[AnswerOption]) -> dict[str, Any]:
    """A version's content as stored in `question_versions.content`: every spec field, and the
    options with their ids (answers refer to options by id)."""
    spec = QuestionSpec.from_model(question, options)
    return {
        **spec.column_values(),
        "kind": str(spec.kind),
        "options": [{"id": o.id, **OptionSpec.from_model(o).column_values()} for o in options],
    }


def _options_of(session: Session, question_id: int) -> list[AnswerOption]:
    return list(
        session.scalars(
            select(AnswerOption)
            .where(AnswerOption.question_id == question_id)
            .order_by(AnswerOption.position)
        )
    )


def save_snapshot(session: Session, *, question: Question, created_by: int | None) -> None:
    """Write (or rewrite) the snapshot of the question's current version."""
    content = snapshot(question, _options_of(session, question.id))
    row = session.scalar(
        select(QuestionVersion).where(
            QuestionVersion.question_id == question.id,
            QuestionVersion.version == question.version,
        )
    )
    if row is None:
        session.add(
            QuestionVersion(
                question_id=question.id,
                version=question.version,
                content=content,
                created_by_id=created_by,
                created_at=utcnow(),
            )
        )
    else:
        row.content = content
    session.flush()


def insert_question(
    session: Session,
    *,
    assessment_id: int,
    position: int,
    spec: QuestionSpec,
    created_by: int | None = None,
) -> Question:
    """New rows for a validated spec at `position` (which must be free), as version 1."""
    question = Question(
        assessment_id=assessment_id, position=position, version=1, **spec.column_values()
    )
    session.add(question)
    session.flush()
    _insert_options(session, question_id=question.id, options=spec.options)
    save_snapshot(session, question=question, created_by=created_by)
    return question


def replace_content(session: Session, *, question: Question, spec: QuestionSpec) -> None:
    """Overwrite one draft question's content in place (same id, position and version) and its
    options. Drafts have no answers, so no version is kept of what they said before."""
    for name, value in spec.column_values().items():
        setattr(question, name, value)
    # Explicit option delete: do not rely on SQLite having foreign-key cascades switched on.
    session.execute(delete(AnswerOption).where(AnswerOption.question_id == question.id))
    _insert_options(session, question_id=question.id, options=spec.options)
    save_snapshot(session, question=question, created_by=None)


#: The fields a free-text grade was given against: a change sends graded answers back to grading.
RUBRIC_FIELDS = ("reference_answer", "rubric_keywords")


def correct_content(
    session: Session, *, question: Question, spec: QuestionSpec, created_by: int
) -> bool:
    """Make a validated `spec` the next version of a published question; False (and nothing
    written) when it changes nothing.

    The kind and the number of options stay: option rows are updated in place (text, correct
    or not), keeping the ids that past answers chose. The version being replaced gets its
    snapshot first if it has none (questions written outside the domain, e.g. by bulk seeds).
    """
    options = _options_of(session, question.id)
    if spec.kind != question.kind:
        raise InvalidInput(
            "a correction keeps the question's kind; add a new question instead",
            code="kind_fixed",
            field="kind",
        )
    if len(spec.options) != len(options):
        raise InvalidInput(
            f"a correction keeps the {len(options)} options (answers refer to them); "
            "change their text or which ones are correct",
            code="options_fixed",
            field="options",
        )
    if QuestionSpec.from_model(question, options) == spec:
        return False
    exists = session.scalar(
        select(QuestionVersion.id).where(
            QuestionVersion.question_id == question.id,
            QuestionVersion.version == question.version,
        )
    )
    if exists is None:
        save_snapshot(session, question=question, created_by=None)
    for name, value in spec.column_values().items():
        setattr(question, name, value)
    for option, new in zip(options, spec.options, strict=True):
        option.text = new.text
        option.is_correct = new.is_correct
    question.version += 1
    session.flush()
    save_snapshot(session, question=question, created_by=created_by)
    return True


def delete_rows(session: Session, *, question: Question) -> None:
    session.execute(delete(AnswerOption).where(AnswerOption.question_id == question.id))
    session.execute(delete(QuestionVersion).where(QuestionVersion.question_id == question.id))
    session.delete(question)
    session.flush()


def shift_positions(
    session: Session, *, assessment_id: int, first: int, last: int, by: int
) -> None:
    """Add `by` to the position of the questions at `first`..`last`.

    UNIQUE (assessment_id, position) is checked row by row on PostgreSQL and SQLite, so
    `position = position + 1` can collide half-way. The rows first move to distinct negative
    positions (-p - 1), then to their targets, none of which is taken at that moment.
    """
    if first > last:
        return
    in_range = (
        Question.assessment_id == assessment_id,
        Question.position >= first,
        Question.position <= last,
    )
    fetch = {"synchronize_session": "fetch"}
    session.execute(
        update(Question).where(*in_range).values(position=-Question.position - 1),
        execution_options=fetch,
    )
    session.execute(
        update(Question)
        .where(Question.assessment_id == assessment_id, Question.position < 0)
        .values(position=-Question.position - 1 + by),
        execution_options=fetch,
    )


def _insert_options(session: Session, *, question_id: int, options: Sequence[OptionSpec]) -> None:
    session.add_all(
        AnswerOption(question_id=question_id, position=i, **option.column_values())
        for i, option in enumerate(options)
    )
    session.flush()


__all__ = [
    "CHOICE_KINDS",
    "RUBRIC_FIELDS",
    "OPTION_IDENTITY",
    "QUESTION_IDENTITY",
    "OptionSpec",
    "QuestionSpec",
    "content_columns",
    "correct_content",
    "delete_rows",
    "insert_question",
    "replace_content",
    "save_snapshot",
    "shift_positions",
    "snapshot",
]
