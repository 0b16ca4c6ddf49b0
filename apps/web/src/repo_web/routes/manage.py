"""Author pages (admins too): create and edit assessments and their questions, preview as a
learner, publish, archive, and the statistics page with its charts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from repo_domain import assessments, readmodels, stats
from repo_domain.assessments import AssessmentView, OptionSpec, QuestionSpec
from repo_domain.errors import Conflict, InvalidInput
from repo_domain.validation import MAX_ID
from repo_web import charts
from repo_web.deps import AuthorDep, DbDep
from repo_web.errors import error_page
from repo_web.forms import Form, read_form
from repo_web.templating import render

router = APIRouter(prefix="/manage")

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Position = Annotated[int, Path(ge=1, le=10_000)]
KINDS = {
    "single_choice": "Single choice",
    "multiple_choice": "Multiple choice",
    "numeric": "Numeric",
    "free_text": "Free text",
}
OPTION_SLOTS = 6


def _specs(view: AssessmentView) -> list[QuestionSpec]:
    return [
        QuestionSpec(
            kind=q.kind,
            prompt=q.prompt,
            points=q.points,
            numeric_answer=q.numeric_answer,
            numeric_tolerance=q.numeric_tolerance,
            reference_answer=q.reference_answer,
            options=tuple(
                OptionSpec(text=o.text, is_correct=o.is_correct) for o in view.options[q.id]
            ),
        )
        for q in view.questions
    ]


@router.get("")
def index(
    request: Request,
    session: DbDep,
    user: AuthorDep,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> Response:
    page = assessments.list_managed(session, actor=user.actor, status=None, after=after, limit=50)
    return render(request, "manage/index.html", page=page)


def _settings_from(form: Form) -> dict[str, Any]:
    minutes = form.number("time_limit_minutes", minimum=1, maximum=24 * 60)
    pass_percent = form.number("pass_percent", required=True, minimum=0, maximum=100)
    return {
        "title": form.text("title", required=True, max_length=200),
        "description": form.text("description", max_length=5_000),
        "time_limit_seconds": None if minutes is None else int(minutes * 60),
        "pass_percent": pass_percent,
    }


@router.get("/new")
def new_page(request: Request, user: AuthorDep) -> Response:
    return render(request, "manage/new.html", values={"pass_percent": "60"}, errors={})


@router.post("/new")
async def create(request: Request, session: DbDep, user: AuthorDep) -> Response:
    form = await read_form(request)
    fields = _settings_from(form)
    if not form.ok:
        return render(
            request, "manage/new.html", status_code=422, values=form.values(), errors=form.errors
        )
    assessment = assessments.create_assessment(session, actor=user.actor, questions=[], **fields)
    return RedirectResponse(f"/manage/{assessment.id}", status_code=303)


def _edit_page(
    request: Request,
    view: AssessmentView,
    *,
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
    }
    return render(
        request,
        "manage/edit.html",
        status_code=status_code,
        view=view,
        kinds=KINDS,
        values=values or defaults,
        errors=errors or {},
        notice=notice,
    )


@router.get("/{assessment_id}")
def edit_page(request: Request, assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    view = assessments.load_view(session, assessment=assessment)
    return _edit_page(request, view, notice=request.query_params.get("notice"))


@router.post("/{assessment_id}")
async def update(request: Request, assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    form = await read_form(request)
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    fields = _settings_from(form)
    if assessment.status != "draft":  # only title and description may change after publishing
        form.errors.pop("pass_percent", None)
        form.errors.pop("time_limit_minutes", None)
        fields = {"title": fields["title"], "description": fields["description"]}
    if not form.ok:
        view = assessments.load_view(session, assessment=assessment)
        return _edit_page(request, view, values=form.values(), errors=form.errors, status_code=422)
    assessments.update_assessment(session, actor=user.actor, assessment_id=assessment_id, **fields)
    return RedirectResponse(f"/manage/{assessment_id}?notice=saved", status_code=303)


def _question_values(view: AssessmentView, position: int | None) -> dict[str, Any]:
    if position is None:
        return {"points": "1"}
    q = view.questions[position - 1]
    values: dict[str, Any] = {
        "prompt": q.prompt,
        "points": f"{q.points:g}",
        "numeric_answer": "" if q.numeric_answer is None else f"{q.numeric_answer:g}",
        "numeric_tolerance": "" if q.numeric_tolerance is None else f"{q.numeric_tolerance:g}",
        "reference_answer": q.reference_answer or "",
    }
    for i, option in enumerate(view.options[q.id], 1):
        values[f"option_{i}"] = option.text
        if option.is_correct:
            values[f"correct_{i}"] = "on"
    return values


def _question_page(
    request: Request,
    view: AssessmentView,
    *,
    kind: str,
    position: int | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
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
        slots=range(1, OPTION_SLOTS + 1),
    )


def _draft_view(session: DbDep, user: AuthorDep, assessment_id: int) -> AssessmentView:
    assessment = assessments.get_managed(session, actor=user.actor, assessment_id=assessment_id)
    if assessment.status != "draft":
        raise Conflict("questions can only change while the assessment is a draft")
    return assessments.load_view(session, assessment=assessment)


@router.get("/{assessment_id}/questions/new")
def new_question_page(
    request: Request,
    assessment_id: Id,
    session: DbDep,
    user: AuthorDep,
    kind: str = "single_choice",
) -> Response:
    if kind not in KINDS:
        return error_page(request, 404, "Unknown question kind.")
    view = _draft_view(session, user, assessment_id)
    return _question_page(
        request, view, kind=kind, position=None, values=_question_values(view, None), errors={}
    )


@router.get("/{assessment_id}/questions/{position}")
def edit_question_page(
    request: Request, assessment_id: Id, position: Position, session: DbDep, user: AuthorDep
) -> Response:
    view = _draft_view(session, user, assessment_id)
    if position > len(view.questions):
        return error_page(request, 404, "This assessment has no question with that number.")
    return _question_page(
        request,
        view,
        kind=view.questions[position - 1].kind,
        position=position,
        values=_question_values(view, position),
        errors={},
    )


def _spec_from(form: Form, kind: str) -> QuestionSpec | None:
    prompt = form.text("prompt", required=True, max_length=5_000)
    points = form.number("points", required=True, minimum=0.01, maximum=1000)
    numeric_answer = numeric_tolerance = None
    reference = None
    options: list[OptionSpec] = []
    if kind in ("single_choice", "multiple_choice"):
        for i in range(1, OPTION_SLOTS + 1):
            text = form.text(f"option_{i}", max_length=1_000)
            if text:
                options.append(OptionSpec(text=text, is_correct=form.checked(f"correct_{i}")))
        correct = sum(o.is_correct for o in options)
        if len(options) < 2:
            form.errors["option_1"] = "Give at least two options."
        elif kind == "single_choice" and correct != 1:
            form.errors["options"] = "Mark exactly one option as correct."
        elif correct < 1:
            form.errors["options"] = "Mark at least one option as correct."
    elif kind == "numeric":
        numeric_answer = form.number("numeric_answer", required=True)
        numeric_tolerance = form.number("numeric_tolerance", minimum=0)
    else:
        reference = form.text("reference_answer", max_length=5_000) or None
    if not form.ok:
        return None
    return QuestionSpec(
        kind=kind,
        prompt=prompt,
        points=points or 1.0,
        numeric_answer=numeric_answer,
        numeric_tolerance=numeric_tolerance,
        reference_answer=reference,
        options=tuple(options),
    )


async def _save_question(
    request: Request, assessment_id: int, position: int | None, session: DbDep, user: AuthorDep
) -> Response:
    form = await read_form(request)
    view = _draft_view(session, user, assessment_id)
    if position is not None and position > len(view.questions):
        return error_page(request, 404, "This assessment has no question with that number.")
    kind = view.questions[position - 1].kind if position else form.text("kind")
    if kind not in KINDS:
        return error_page(request, 400, "Unknown question kind.")
    spec = _spec_from(form, kind)
    if spec is None:
        return _question_page(
            request,
            view,
            kind=kind,
            position=position,
            values=form.values(),
            errors=form.errors,
            status_code=422,
        )
    specs = _specs(view)
    if position is None:
        specs.append(spec)
    else:
        specs[position - 1] = spec
    assessments.update_assessment(
        session, actor=user.actor, assessment_id=assessment_id, questions=specs
    )
    return RedirectResponse(f"/manage/{assessment_id}?notice=question-saved", status_code=303)


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


@router.post("/{assessment_id}/questions/{position}/delete")
def delete_question(
    request: Request, assessment_id: Id, position: Position, session: DbDep, user: AuthorDep
) -> Response:
    view = _draft_view(session, user, assessment_id)
    if position > len(view.questions):
        return error_page(request, 404, "This assessment has no question with that number.")
    specs = _specs(view)
    del specs[position - 1]
    assessments.update_assessment(
        session, actor=user.actor, assessment_id=assessment_id, questions=specs
    )
    return RedirectResponse(f"/manage/{assessment_id}?notice=question-deleted", status_code=303)


@router.post("/{assessment_id}/publish")
def publish(request: Request, assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    try:
        assessments.publish(session, actor=user.actor, assessment_id=assessment_id)
    except InvalidInput:
        return RedirectResponse(f"/manage/{assessment_id}?notice=needs-questions", status_code=303)
    return RedirectResponse(f"/manage/{assessment_id}?notice=published", status_code=303)


@router.post("/{assessment_id}/archive")
def archive(assessment_id: Id, session: DbDep, user: AuthorDep) -> Response:
    assessments.archive(session, actor=user.actor, assessment_id=assessment_id)
    return RedirectResponse(f"/manage/{assessment_id}?notice=archived", status_code=303)


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
        return RedirectResponse(f"/manage/{assessment_id}?notice=needs-questions", status_code=303)
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
        difficulty=charts.question_difficulty(data["questions"]),  # type: ignore[arg-type]
        timeline=charts.attempts_over_time(per_day),
    )
