"""Author pages (admins too): create and edit assessments and their questions, preview as a
learner, publish, archive, and the statistics page with its charts."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from repo_db.models import AssessmentStatus, Question, QuestionKind, ShowAnswers
from repo_domain import (
    adaptive,
    assessments,
    item_analysis,
    readmodels,
    regrade,
    results_export,
    stats,
)
from repo_domain.assessments import AssessmentView, OptionSpec, QuestionSpec
from repo_domain.errors import Conflict, InvalidInput
from repo_domain.validation import (
    ADAPTIVE_LENGTH_MAX,
    MAX_EXPOSURE_MAX,
    MAX_EXPOSURE_MIN,
    MAX_ID,
    OPTIONS_MAX,
    TIME_LIMIT_SECONDS_MAX,
    TIME_LIMIT_SECONDS_MIN,
)
from repo_web import charts
from repo_web.deps import AuthorDep, DbDep
from repo_web.errors import error_page
from repo_web.forms import Form, read_form
from repo_web.notices import Notice, notice_text
from repo_web.policy import SHOW_ANSWERS_LABELS, datetime_local
from repo_web.templating import render, sentence

router = APIRouter(prefix="/manage")

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Position = Annotated[int, Path(ge=1, le=10_000)]
KINDS = {
    QuestionKind.SINGLE_CHOICE: "Single choice",
    QuestionKind.MULTIPLE_CHOICE: "Multiple choice",
    QuestionKind.NUMERIC: "Numeric",
    QuestionKind.FREE_TEXT: "Free text",
}
#: Option rows the question form offers (more when a question already has more).
OPTION_SLOTS = 6
#: Rows read back: one past the domain's maximum, so "too many options" is its verdict too.
OPTION_ROWS_READ = OPTIONS_MAX + 1


def _message(exc: InvalidInput, subject: str | None = None) -> str:
    """The domain's message as a sentence, its field name replaced by words for the form."""
    text = exc.message
    if exc.field and text.startswith(exc.field):
        text = (subject or exc.field.replace("_", " ")) + text[len(exc.field) :]
    return sentence(text)


@router.get("")
def index(
    request: Request,
    session: DbDep,
    user: AuthorDep,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> Response:
    page = assessments.list_managed(session, actor=user.actor, status=None, after=after, limit=50)
    return render(request, "manage/index.html", page=page)


# --- settings --------------------------------------------------------------------------------

#: Domain field -> form field of the settings form.
SETTINGS_FIELDS = {
    "title": "title",
    "description": "description",
    "time_limit_seconds": "time_limit_minutes",
    "pass_percent": "pass_percent",
    "max_attempts": "max_attempts",
    "show_answers": "show_answers",
    "closes_at": "closes_at",
    "adaptive_min_length": "adaptive_min_length",
    "adaptive_max_length": "adaptive_max_length",
    "adaptive_max_exposure": "adaptive_max_exposure_percent",
}
#: Fields that only a draft's settings form shows and saves.
DRAFT_ONLY_FIELDS = {"time_limit_seconds": "time_limit_minutes", "pass_percent": "pass_percent"}
SETTINGS_LABELS = {
    "title": "Title",
    "description": "Description",
    "time_limit_minutes": "Time limit",
    "pass_percent": "Pass mark",
    "max_attempts": "Attempts allowed",
    "show_answers": "Learners see their marks and the correct answers",
    "closes_at": "Closes at",
    "adaptive_min_length": "Fewest questions",
    "adaptive_max_length": "Most questions",
    "adaptive_max_exposure_percent": "Most learners one question is shown to (percent)",
}


def _settings_from(form: Form) -> dict[str, Any]:
    """Parse the settings form (text to numbers and times); the domain decides what is valid.

    A policy field that was not sent at all is left out (default on create, unchanged on
    update): the form always sends all three, an empty one meaning "no limit" / "no date".
    """
    minutes = form.number("time_limit_minutes")
    pass_percent = form.number("pass_percent", required=True)
    fields: dict[str, Any] = {
        "title": form.raw("title"),
        "description": form.raw("description"),
        # Exact arithmetic: 1e308 minutes is a (huge) whole number of seconds for the domain
        # to refuse, not an OverflowError here.
        "time_limit_seconds": None if minutes is None else round(Fraction(minutes) * 60),
        "pass_percent": pass_percent,
    }
    if form.present("max_attempts"):
        fields["max_attempts"] = form.whole_number("max_attempts")
    if form.present("show_answers"):
        fields["show_answers"] = form.raw("show_answers")  # the domain names the members
    if form.present("closes_at"):
        fields["closes_at"] = form.utc_datetime("closes_at")
    # Adaptive limits: only an adaptive assessment's form has them; empty means the default.
    for name in ("adaptive_min_length", "adaptive_max_length"):
        if form.present(name):
            fields[name] = form.whole_number(name)
    if form.present("adaptive_max_exposure_percent"):
        percent = form.number("adaptive_max_exposure_percent")
        fields["adaptive_max_exposure"] = None if percent is None else percent / 100
    return fields


def _settings_error(form: Form, exc: InvalidInput) -> None:
    name = SETTINGS_FIELDS.get(exc.field or "", "title")
    if name == "time_limit_minutes":
        form.errors[name] = (
            f"Between {TIME_LIMIT_SECONDS_MIN / 60:g} and {TIME_LIMIT_SECONDS_MAX / 60:g} "
            "minutes, or empty for no time limit."
        )
    elif name == "closes_at" and exc.code == "invalid_policy":
        # The domain's cross-field rule, said in the form's words.
        after_close = SHOW_ANSWERS_LABELS[ShowAnswers.AFTER_CLOSE]
        form.errors[name] = (
            f"\u201c{after_close}\u201d needs a close date: set one, or choose another time "
            "for learners to see their marks."
        )
    elif name == "show_answers":
        form.errors[name] = "Choose one of the options."
    elif name == "adaptive_max_exposure_percent":
        form.errors[name] = (
            f"Between {MAX_EXPOSURE_MIN * 100:g} and {MAX_EXPOSURE_MAX * 100:g} percent, or empty "
            "for the default."
        )
    elif name in ("adaptive_min_length", "adaptive_max_length") and exc.code == "out_of_range":
        form.errors[name] = (
            "The fewest questions cannot be more than the most questions."
            if "must not be above" in exc.message
            else f"A whole number from 1 to {ADAPTIVE_LENGTH_MAX}, or empty for the default."
        )
    else:
        form.errors[name] = _message(exc, SETTINGS_LABELS.get(name))


@router.get("/new")
def new_page(request: Request, user: AuthorDep) -> Response:
    values = {"pass_percent": "60", "show_answers": ShowAnswers.AFTER_LAST_ATTEMPT}
    return render(request, "manage/new.html", values=values, errors={}, labels=SETTINGS_LABELS)


@router.post("/new")
async def create(request: Request, session: DbDep, user: AuthorDep) -> Response:
    form = await read_form(request)
    fields = _settings_from(form)
    if form.ok:
        try:
            assessment = assessments.create_assessment(
                session, actor=user.actor, questions=[], **fields
            )
        except InvalidInput as exc:
            _settings_error(form, exc)
        else:
            return RedirectResponse(f"/manage/{assessment.id}", status_code=303)
    return render(
        request,
        "manage/new.html",
        status_code=422,
        values=form.values(),
        errors=form.errors,
        labels=SETTINGS_LABELS,
    )


def _whole(value: int | None) -> str:
    return "" if value is None else str(value)


def _edit_page(
    request: Request,
    view: AssessmentView,
    *,
    policy: adaptive.Policy | None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Response:
    a = view.assessment
    defaults = {
        "title": a.title,
        "description": a.description,
        "time_limit_minutes": "" if not a.time_limit_seconds else f"{a.time_limit_seconds / 60:g}",
        "pass_percent": f"{a.pass_percent:g}",
        "max_attempts": "" if a.max_attempts is None else str(a.max_attempts),
        "show_answers": a.show_answers,
        "closes_at": datetime_local(a.closes_at),
        "adaptive_min_length": _whole(a.adaptive_min_length),
        "adaptive_max_length": _whole(a.adaptive_max_length),
        "adaptive_max_exposure_percent": (
            "" if a.adaptive_max_exposure is None else f"{a.adaptive_max_exposure * 100:g}"
        ),
    }
    return render(
        request,
        "manage/edit.html",
        status_code=status_code,
        view=view,
        kinds=KINDS,
        values=values or defaults,
        errors=errors or {},
        labels=SETTINGS_LABELS,
        notice=notice,
        adaptive_policy=policy,
        adaptive_default_min_length=adaptive.DEFAULT_MIN_LENGTH,
        adaptive_default_exposure=adaptive.DEFAULT_MAX_EXPOSURE,
        adaptive_min_pool=adaptive.EXPOSURE_MIN_POOL,
    )


@router.get("/{assessment_id}")
def edit_page(request: Request, assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    view = assessments.load_view(session, assessment=assessment)
    return _edit_page(
        request,
        view,
        policy=_adaptive_policy(session, view),
        notice=notice_text(request.query_params.get("notice")),
    )


def _adaptive_policy(session: DbDep, view: AssessmentView) -> adaptive.Policy | None:
    """What an adaptive assessment's next attempt runs under (the form shows the defaults)."""
    if not view.assessment.adaptive:
        return None
    return adaptive.current_policy(session, assessment=view.assessment)


@router.post("/{assessment_id}")
async def update(request: Request, assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    form = await read_form(request)
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    fields = _settings_from(form)
    if assessment.status != AssessmentStatus.DRAFT:
        # Time limit and pass mark are frozen after publishing (the form does not show them);
        # title, description and the attempt policy may still change.
        for field, form_field in DRAFT_ONLY_FIELDS.items():
            form.errors.pop(form_field, None)
            fields.pop(field, None)
    if form.ok:
        try:
            assessments.update_assessment(
                session, actor=user.actor, assessment_id=assessment_id, **fields
            )
        except InvalidInput as exc:
            _settings_error(form, exc)
        else:
            return RedirectResponse(
                f"/manage/{assessment_id}?notice={Notice.SAVED}", status_code=303
            )
    view = assessments.load_view(session, assessment=assessment)
    return _edit_page(
        request,
        view,
        policy=_adaptive_policy(session, view),
        values=form.values(),
        errors=form.errors,
        status_code=422,
    )


# --- questions, one at a time ------------------------------------------------------------------


def _exact(value: float | None) -> str:
    """A number as short as possible, yet read back to the same float: saving the form
    unchanged must not round an answer (`:g` alone turns 3.14159265 into 3.14159)."""
    if value is None:
        return ""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def _question_values(view: AssessmentView, question: Question | None) -> dict[str, Any]:
    if question is None:
        return {"points": "1"}
    values: dict[str, Any] = {
        "prompt": question.prompt,
        "points": _exact(question.points),
        "numeric_answer": _exact(question.numeric_answer),
        "numeric_tolerance": _exact(question.numeric_tolerance),
        "reference_answer": question.reference_answer or "",
        "rubric_keywords": "\n".join(question.rubric_keywords or ()),
    }
    for i, option in enumerate(view.options[question.id], 1):
        values[f"option_{i}"] = option.text
        if option.is_correct:
            values[f"correct_{i}"] = "on"
    return values


def _question_page(
    request: Request,
    view: AssessmentView,
    *,
    kind: QuestionKind,
    position: int | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    filled = [i for i in range(1, OPTION_ROWS_READ + 1) if values.get(f"option_{i}")]
    rows = max([OPTION_SLOTS, *(i + 1 for i in filled)])
    return render(
        request,
        "manage/question.html",
        status_code=status_code,
        view=view,
        kind=kind,
        kind_label=KINDS[kind],
        position=position,
        values=values,
        errors=errors,
        options_invalid=any(name.startswith("option") for name in errors),
        slots=range(1, min(rows, OPTION_ROWS_READ) + 1),
    )


def _draft_view(
    session: DbDep, user: AuthorDep, assessment_id: int, *, published: bool = False
) -> AssessmentView:
    """The assessment whose questions change: a draft, or (``published``: a correction, a new
    version of one question) a published one."""
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    allowed = {AssessmentStatus.DRAFT, AssessmentStatus.PUBLISHED} if published else set()
    if assessment.status != AssessmentStatus.DRAFT and assessment.status not in allowed:
        raise Conflict("questions can only change while the assessment is a draft")
    return assessments.load_view(session, assessment=assessment)


def _at(view: AssessmentView, position: int) -> Question | None:
    """The question shown as number `position` (1-based), if there is one."""
    return view.questions[position - 1] if position <= len(view.questions) else None


def _no_such_question(request: Request) -> Response:
    return error_page(request, 404, "This assessment has no question with that number.")


@router.get("/{assessment_id}/questions/new")
def new_question_page(
    request: Request,
    assessment_id: Id,
    session: DbDep,
    user: AuthorDep,
    kind: str = QuestionKind.SINGLE_CHOICE,
) -> Response:
    if kind not in KINDS:
        return error_page(request, 404, "Unknown question kind.")
    view = _draft_view(session, user, assessment_id)
    return _question_page(
        request,
        view,
        kind=QuestionKind(kind),
        position=None,
        values=_question_values(view, None),
        errors={},
    )


@router.get("/{assessment_id}/questions/{position}")
def edit_question_page(
    request: Request, assessment_id: Id, position: Position, session: DbDep, user: AuthorDep
) -> Response:
    view = _draft_view(session, user, assessment_id, published=True)
    question = _at(view, position)
    if question is None:
        return _no_such_question(request)
    return _question_page(
        request,
        view,
        kind=QuestionKind(question.kind),
        position=position,
        values=_question_values(view, question),
        errors={},
    )


class _QuestionForm:
    """The question form parsed into a spec, remembering which row each option came from."""

    def __init__(self, form: Form, kind: QuestionKind) -> None:
        self.form = form
        self.option_rows: list[int] = []
        options: list[OptionSpec] = []
        if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
            for row in range(1, OPTION_ROWS_READ + 1):
                text = form.raw(f"option_{row}")
                if text.strip():  # empty rows are ignored
                    self.option_rows.append(row)
                    options.append(OptionSpec(text=text, is_correct=form.checked(f"correct_{row}")))
        numeric = kind == QuestionKind.NUMERIC
        free_text = kind == QuestionKind.FREE_TEXT
        points = form.number("points", required=True)
        keywords = form.raw("rubric_keywords").split("\n") if free_text else []
        self.spec = QuestionSpec(
            kind=kind,
            prompt=form.raw("prompt"),
            points=1.0 if points is None else points,
            numeric_answer=form.number("numeric_answer") if numeric else None,
            numeric_tolerance=form.number("numeric_tolerance") if numeric else None,
            reference_answer=form.raw("reference_answer") if free_text else None,
            # One keyword per line; blank lines are layout, not keywords.
            rubric_keywords=[k.strip("\r ") for k in keywords if k.strip("\r ")] or None,
            options=tuple(options),
        )

    def add_error(self, exc: InvalidInput) -> None:
        """Show the domain's verdict next to the field it names."""
        field = exc.field or "prompt"
        if field.startswith("options["):
            index = int(field[len("options[") : field.index("]")])
            self.form.errors[f"option_{self.option_rows[index]}"] = _message(exc, "this option")
            return
        if field not in {
            "prompt",
            "points",
            "options",
            "numeric_answer",
            "numeric_tolerance",
            "reference_answer",
            "rubric_keywords",
        }:
            field = "prompt"
        self.form.errors[field] = _message(exc)


async def _save_question(
    request: Request, assessment_id: int, position: int | None, session: DbDep, user: AuthorDep
) -> Response:
    form = await read_form(request)
    view = _draft_view(session, user, assessment_id, published=position is not None)
    question = None if position is None else _at(view, position)
    if position is not None and question is None:
        return _no_such_question(request)
    kind = form.text("kind") if question is None else question.kind
    if kind not in KINDS:
        return error_page(request, 400, "Unknown question kind.")
    parsed = _QuestionForm(form, QuestionKind(kind))
    if form.ok:
        try:
            if question is None:
                assessments.add_question(
                    session, actor=user.actor, assessment_id=assessment_id, spec=parsed.spec
                )
            else:
                assessments.change_question(
                    session,
                    actor=user.actor,
                    assessment_id=assessment_id,
                    question_id=question.id,
                    spec=parsed.spec,
                )
        except InvalidInput as exc:
            parsed.add_error(exc)
        else:
            if view.assessment.status == AssessmentStatus.PUBLISHED:  # a correction: preview
                return RedirectResponse(
                    f"/manage/{assessment_id}/questions/{position}/regrade", status_code=303
                )
            return RedirectResponse(
                f"/manage/{assessment_id}?notice={Notice.QUESTION_SAVED}", status_code=303
            )
    return _question_page(
        request,
        view,
        kind=QuestionKind(kind),
        position=position,
        values=form.values(),
        errors=form.errors,
        status_code=422,
    )


@router.post("/{assessment_id}/questions/new")
async def create_question(
    request: Request, assessment_id: Id, session: DbDep, user: AuthorDep
) -> Response:
    return await _save_question(request, assessment_id, None, session, user)


@router.post("/{assessment_id}/questions/{position}")
async def update_question(
    request: Request, assessment_id: Id, position: Position, session: DbDep, user: AuthorDep
) -> Response:
    return await _save_question(request, assessment_id, position, session, user)


@router.post("/{assessment_id}/questions/{position}/move")
async def move_question(
    request: Request, assessment_id: Id, position: Position, session: DbDep, user: AuthorDep
) -> Response:
    """Up or down by one (`direction` = up | down); at either end nothing moves."""
    form = await read_form(request)
    view = _draft_view(session, user, assessment_id)
    question = _at(view, position)
    if question is None:
        return _no_such_question(request)
    step = {"up": -1, "down": 1}.get(form.text("direction"))
    if step is None:
        return error_page(request, 400, "Move a question up or down.")
    target = question.position + step
    if 0 <= target < len(view.questions):
        assessments.move_question(
            session,
            actor=user.actor,
            assessment_id=assessment_id,
            question_id=question.id,
            position=target,
        )
    return RedirectResponse(
        f"/manage/{assessment_id}?notice={Notice.QUESTION_MOVED}", status_code=303
    )


@router.post("/{assessment_id}/questions/{position}/delete")
def delete_question(
    request: Request, assessment_id: Id, position: Position, session: DbDep, user: AuthorDep
) -> Response:
    view = _draft_view(session, user, assessment_id)
    question = _at(view, position)
    if question is None:
        return _no_such_question(request)
    assessments.delete_question(
        session, actor=user.actor, assessment_id=assessment_id, question_id=question.id
    )
    return RedirectResponse(
        f"/manage/{assessment_id}?notice={Notice.QUESTION_DELETED}", status_code=303
    )


#: Rows of the regrade preview table; the totals above it count every affected attempt.
PREVIEW_ROWS = 200


@router.get("/{assessment_id}/questions/{position}/regrade")
def regrade_page(
    request: Request, assessment_id: Id, position: Position, session: DbDep, user: AuthorDep
) -> Response:
    """The dry run: every affected attempt's old and new score, the version history, and the
    button that applies it."""
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    view = assessments.load_view(session, assessment=assessment)
    question = _at(view, position)
    if question is None:
        return _no_such_question(request)
    ids = {"assessment_id": assessment_id, "question_id": question.id}
    report = regrade.regrade(session, actor=user.actor, dry_run=True, **ids)
    return render(
        request,
        "manage/regrade.html",
        view=view,
        question=question,
        position=position,
        report=report,
        rows=report.attempts[:PREVIEW_ROWS],
        versions=regrade.versions(session, actor=user.actor, **ids),
    )


@router.post("/{assessment_id}/questions/{position}/regrade")
def apply_regrade(
    request: Request, assessment_id: Id, position: Position, session: DbDep, user: AuthorDep
) -> Response:
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    question = _at(assessments.load_view(session, assessment=assessment), position)
    if question is None:
        return _no_such_question(request)
    regrade.regrade(
        session,
        actor=user.actor,
        assessment_id=assessment_id,
        question_id=question.id,
        dry_run=False,
    )
    return RedirectResponse(f"/manage/{assessment_id}?notice={Notice.REGRADED}", status_code=303)


@router.post("/{assessment_id}/publish")
def publish(request: Request, assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    try:
        assessments.publish(session, actor=user.actor, assessment_id=assessment_id)
    except InvalidInput:
        return RedirectResponse(
            f"/manage/{assessment_id}?notice={Notice.NEEDS_QUESTIONS}", status_code=303
        )
    return RedirectResponse(f"/manage/{assessment_id}?notice={Notice.PUBLISHED}", status_code=303)


@router.post("/{assessment_id}/archive")
def archive(assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    assessments.archive(session, actor=user.actor, assessment_id=assessment_id)
    return RedirectResponse(f"/manage/{assessment_id}?notice={Notice.ARCHIVED}", status_code=303)


@router.get("/{assessment_id}/preview")
def preview(
    request: Request,
    assessment_id: Id,
    session: DbDep,
    user: AuthorDep,
    q: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """The learner's question page, read-only: nothing is recorded."""
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    view = assessments.load_view(session, assessment=assessment)
    if not view.questions:
        return RedirectResponse(
            f"/manage/{assessment_id}?notice={Notice.NEEDS_QUESTIONS}", status_code=303
        )
    if q > len(view.questions):
        return error_page(request, 404, "This assessment has no question with that number.")
    question = view.questions[q - 1]
    return render(
        request,
        "question.html",
        title=assessment.title,
        questions=view.questions,
        answered=set(),
        deadline=None,
        time_limit_seconds=assessment.time_limit_seconds,
        base=f"/manage/{assessment_id}/preview?q=",
        number=q,
        question=question,
        options=view.options[question.id],
        response=None,
        errors={},
        preview=True,
        assessment_id=assessment_id,
        saved=False,
    )


@router.get("/{assessment_id}/stats")
def stats_page(request: Request, assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    data = stats.assessment_stats(session, actor=user.actor, assessment_id=assessment_id)
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    per_day = readmodels.attempts_per_day(session, actor=user.actor, assessment_id=assessment_id)
    return render(
        request,
        "manage/stats.html",
        assessment=assessment,
        data=data,
        histogram=charts.score_histogram(data["score_distribution"]),  # type: ignore[arg-type]
        correct_rate=charts.question_correct_rate(data["questions"]),  # type: ignore[arg-type]
        timeline=charts.attempts_over_time(per_day),
    )


#: What the item analysis page calls repo_domain.item_analysis' flags.
ITEM_FLAGS = {
    item_analysis.FLAG_NEGATIVE_DISCRIMINATION: "Negative discrimination",
    item_analysis.FLAG_TOO_EASY: "Too easy",
    item_analysis.FLAG_TOO_HARD: "Too hard",
}


@router.get("/{assessment_id}/item-analysis")
def item_analysis_page(
    request: Request, assessment_id: Id, session: DbDep, user: AuthorDep
) -> Response:
    report = item_analysis.item_analysis(session, actor=user.actor, assessment_id=assessment_id)
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    return render(
        request,
        "manage/item_analysis.html",
        assessment=assessment,
        report=report,
        kinds=KINDS,
        facility_chart=charts.item_facility(report.items),
        discrimination_chart=charts.item_discrimination(report.items),
        too_easy=item_analysis.TOO_EASY_FACILITY,
        too_hard=item_analysis.TOO_HARD_FACILITY,
        flag_labels=ITEM_FLAGS,
    )


@router.get("/{assessment_id}/results.csv")
def results_csv(request: Request, assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    """Streamed after the page's unit of work has ended: the export reads on its own connection."""
    export = results_export.results_export(session, actor=user.actor, assessment_id=assessment_id)
    return StreamingResponse(
        export.chunks(bind=request.app.state.engine),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
