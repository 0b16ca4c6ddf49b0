"""Learner pages: dashboard, an assessment's page, taking it one question at a time, submitting
with a confirmation step, and the result with per-question feedback.

Adaptive assessments (``adaptive`` true) serve their questions in the order
``repo_domain.adaptive.next_question`` gives: ``/attempts/{id}/next`` redirects to the question to
answer now (or, once the domain's stopping rule says done, to the submit confirmation), the
question page shows only that question, and each answer post goes back to ``/next``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from repo_db.models import Question
from repo_domain import adaptive, assessments, attempts, grading, readmodels
from repo_domain.attempts import Answer
from repo_domain.errors import Conflict
from repo_domain.validation import MAX_ID
from repo_web.deps import DbDep, UserDep
from repo_web.errors import error_page
from repo_web.forms import Form, read_form
from repo_web.templating import render

# Sent by the browser code (apps/web/js/src/autosave.js) when it saves an answer as you type.
AUTOSAVE_HEADER = "X-Autosave"

router = APIRouter()

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Number = Annotated[int, Path(ge=1, le=10_000)]


@router.get("/dashboard")
def dashboard(request: Request, session: DbDep, user: UserDep) -> Response:
    data = readmodels.learner_dashboard(session, actor=user.actor)
    return render(request, "dashboard.html", data=data, now=datetime.now(UTC))


@router.get("/assessments/{assessment_id}")
def assessment_page(request: Request, assessment_id: Id, session: DbDep, user: UserDep) -> Response:
    assessment = assessments.get_visible(session, actor=user.actor, assessment_id=assessment_id)
    view = assessments.load_view(session, assessment=assessment)
    return render(request, "assessment.html", view=view)


@router.post("/assessments/{assessment_id}/start")
def start(assessment_id: Id, session: DbDep, user: UserDep) -> Response:
    attempt, _created = attempts.start_attempt(
        session, actor=user.actor, assessment_id=assessment_id
    )
    sheet = readmodels.attempt_sheet(session, actor=user.actor, attempt_id=attempt.id)
    if sheet.view.assessment.adaptive:
        return RedirectResponse(f"/attempts/{attempt.id}/next", status_code=303)
    first_open = next(
        (i for i, q in enumerate(sheet.view.questions, 1) if q.id not in sheet.responses), 1
    )
    return RedirectResponse(f"/attempts/{attempt.id}/questions/{first_open}", status_code=303)


def _question_page(
    request: Request,
    sheet: readmodels.AttemptSheet,
    number: int,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    state: adaptive.NextQuestion | None = None,
) -> Response:
    questions = sheet.view.questions
    question = questions[number - 1]
    return render(
        request,
        "question.html",
        status_code=status_code,
        title=sheet.view.assessment.title,
        questions=questions,
        answered=set(sheet.responses),
        deadline=sheet.deadline,
        base=f"/attempts/{sheet.attempt.id}/questions/",
        number=number,
        question=question,
        options=sheet.view.options[question.id],
        response=sheet.responses.get(question.id),
        errors=errors or {},
        saved=request.query_params.get("saved") == "1",
        now=datetime.now(UTC),
        adaptive=state,
    )


def _open_sheet(session: DbDep, user: UserDep, attempt_id: int) -> readmodels.AttemptSheet:
    sheet = readmodels.attempt_sheet(session, actor=user.actor, attempt_id=attempt_id)
    if sheet.attempt.user_id != user.actor.id:  # admins may read others' attempts, not take them
        raise Conflict("this attempt belongs to another user", code="not_yours")
    return sheet


def _number_of(sheet: readmodels.AttemptSheet, question_id: int) -> int:
    return next(i for i, q in enumerate(sheet.view.questions, 1) if q.id == question_id)


def _served(session: DbDep, user: UserDep, sheet: readmodels.AttemptSheet) -> adaptive.NextQuestion:
    return adaptive.next_question(session, actor=user.actor, attempt_id=sheet.attempt.id)


@router.get("/attempts/{attempt_id}")
def attempt_home(attempt_id: Id, session: DbDep, user: UserDep) -> Response:
    sheet = readmodels.attempt_sheet(session, actor=user.actor, attempt_id=attempt_id)
    if sheet.attempt.status != "in_progress":
        return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)
    if sheet.view.assessment.adaptive:
        return RedirectResponse(f"/attempts/{attempt_id}/next", status_code=303)
    return RedirectResponse(f"/attempts/{attempt_id}/questions/1", status_code=303)


@router.get("/attempts/{attempt_id}/next")
def next_question(attempt_id: Id, session: DbDep, user: UserDep) -> Response:
    """The question to answer now (adaptive: maximum information), or the submit confirmation
    once the stopping rule is met or every question is answered."""
    sheet = _open_sheet(session, user, attempt_id)
    if sheet.attempt.status != "in_progress":
        return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)
    state = _served(session, user, sheet)
    if state.question_id is None:
        return RedirectResponse(f"/attempts/{attempt_id}/submit", status_code=303)
    number = _number_of(sheet, state.question_id)
    return RedirectResponse(f"/attempts/{attempt_id}/questions/{number}", status_code=303)


@router.get("/attempts/{attempt_id}/questions/{number}")
def question_page(
    request: Request, attempt_id: Id, number: Number, session: DbDep, user: UserDep
) -> Response:
    sheet = _open_sheet(session, user, attempt_id)
    if sheet.attempt.status != "in_progress":
        return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)
    if number > len(sheet.view.questions):
        return render_missing(request)
    if sheet.view.assessment.adaptive:
        state = _served(session, user, sheet)
        if state.question_id != sheet.view.questions[number - 1].id:
            # Adaptive: only the question served now (no skipping ahead, no going back).
            return RedirectResponse(f"/attempts/{attempt_id}/next", status_code=303)
        return _question_page(request, sheet, number, state=state)
    return _question_page(request, sheet, number)


def render_missing(request: Request) -> Response:
    return error_page(request, 404, "This assessment has no question with that number.")


def _answer_from(form: Form, question: Question) -> Answer | None:
    """The submitted answer, or None when the form says nothing about this question."""
    if question.kind in ("single_choice", "multiple_choice"):
        selected = form.ints("option")
        return Answer(
            selected_option_ids=selected[:1] if question.kind == "single_choice" else selected
        )
    if question.kind == "numeric":
        value = form.number("numeric")
        return None if value is None else Answer(numeric_value=value)
    if "text" not in form.data:
        return None
    return Answer(text_value=form.text("text", max_length=20_000))


@router.post("/attempts/{attempt_id}/questions/{number}")
async def save_answer(
    request: Request, attempt_id: Id, number: Number, session: DbDep, user: UserDep
) -> Response:
    form = await read_form(request)
    sheet = _open_sheet(session, user, attempt_id)
    if sheet.attempt.status != "in_progress":
        return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)
    total = len(sheet.view.questions)
    if number > total:
        return render_missing(request)
    question = sheet.view.questions[number - 1]
    state = _served(session, user, sheet) if sheet.view.assessment.adaptive else None
    if state is not None and state.question_id != question.id:
        return RedirectResponse(f"/attempts/{attempt_id}/next", status_code=303)
    answer = _answer_from(form, question)
    if state is not None and answer is None and form.ok:
        form.errors["numeric" if question.kind == "numeric" else "text"] = (
            "Answer this question to go on."
        )
    if not form.ok:
        return _question_page(
            request, sheet, number, errors=form.errors, status_code=422, state=state
        )
    if answer is not None:
        try:
            attempts.save_response(
                session,
                actor=user.actor,
                attempt_id=attempt_id,
                question_id=question.id,
                answer=answer,
            )
        except Conflict as exc:
            if exc.code == "time_up":
                return RedirectResponse(f"/attempts/{attempt_id}/submit", status_code=303)
            raise
    if request.headers.get(AUTOSAVE_HEADER) == "1":
        return Response(status_code=204)  # apps/web/js autosave: saved, stay on the page
    if state is not None:  # adaptive: the next question depends on this answer
        return RedirectResponse(f"/attempts/{attempt_id}/next", status_code=303)
    go = form.text("go")
    if go == "prev" and number > 1:
        target = f"/attempts/{attempt_id}/questions/{number - 1}"
    elif go == "next" and number < total:
        target = f"/attempts/{attempt_id}/questions/{number + 1}"
    elif go == "review" or (go == "next" and number == total):
        target = f"/attempts/{attempt_id}/submit"
    elif go.startswith("q") and go[1:].isdigit() and 1 <= int(go[1:]) <= total:
        target = f"/attempts/{attempt_id}/questions/{int(go[1:])}"
    else:
        target = f"/attempts/{attempt_id}/questions/{number}?saved=1"
    return RedirectResponse(target, status_code=303)


@router.get("/attempts/{attempt_id}/submit")
def confirm_submit(request: Request, attempt_id: Id, session: DbDep, user: UserDep) -> Response:
    sheet = _open_sheet(session, user, attempt_id)
    if sheet.attempt.status != "in_progress":
        return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)
    unanswered = [i for i, q in enumerate(sheet.view.questions, 1) if q.id not in sheet.responses]
    state = _served(session, user, sheet) if sheet.view.assessment.adaptive else None
    if state is not None:
        unanswered = []  # an adaptive test serves only the questions it needs
    return render(
        request,
        "confirm.html",
        sheet=sheet,
        unanswered=unanswered,
        adaptive=state,
        now=datetime.now(UTC),
    )


@router.post("/attempts/{attempt_id}/submit")
def submit(attempt_id: Id, session: DbDep, user: UserDep) -> Response:
    try:
        attempts.submit(session, actor=user.actor, attempt_id=attempt_id)
    except Conflict as exc:
        if exc.code != "already_submitted":
            raise
    return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)


@router.get("/attempts/{attempt_id}/result")
def result_page(request: Request, attempt_id: Id, session: DbDep, user: UserDep) -> Response:
    sheet = readmodels.result_sheet(session, actor=user.actor, attempt_id=attempt_id)
    if sheet.sheet.view.assessment.adaptive:
        # An adaptive test scores only the questions it served (repo_domain.grading): list those.
        served = {q.position for q in sheet.sheet.view.questions if q.id in sheet.sheet.responses}
        sheet = dataclasses.replace(
            sheet, feedback=[f for f in sheet.feedback if f.position in served]
        )
    # The newest grade's feedback on each free-text answer (a reviewer's replaces the AI's).
    latest = {
        f.response_id: f
        for f in grading.feedback_for_attempt(session, actor=user.actor, attempt_id=attempt_id)
    }
    comments = {}
    for question in sheet.sheet.view.questions:
        response = sheet.sheet.responses.get(question.id)
        if question.kind == "free_text" and response is not None and response.id in latest:
            comments[question.position] = latest[response.id]
    return render(request, "result.html", data=sheet, comments=comments)
