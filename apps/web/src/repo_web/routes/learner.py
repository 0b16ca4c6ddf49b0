"""Learner pages: dashboard, an assessment's page, taking it one question at a time, submitting
with a confirmation step, and the result with per-question feedback.

Adaptive assessments (``adaptive`` true) serve their questions in the order
``repo_domain.attempts.next_question`` gives: ``/attempts/{id}/next`` redirects to the question to
answer now (or, once the domain's stopping rule says done, to the submit confirmation), the
question page shows only that question, and each answer post goes back to ``/next``. The rule
itself (only the served question, answered once) is the domain's (``attempts.save_response``):
these pages translate its refusal into a redirect to the question that is served now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from repo_db.models import AttemptStatus, FeedbackSource, Question, QuestionKind
from repo_domain import assessments, attempts, readmodels
from repo_domain.adaptive import Reason
from repo_domain.attempts import ADAPTIVE_REFUSALS, Answer
from repo_domain.errors import Conflict, InvalidInput
from repo_domain.validation import MAX_ID
from repo_web.deps import DbDep, UserDep
from repo_web.errors import error_page
from repo_web.forms import Form, read_form
from repo_web.notices import notice_text
from repo_web.templating import render, sentence

# Sent by the browser code (apps/web/js/src/autosave.js) when it saves an answer as you type.
AUTOSAVE_HEADER = "X-Autosave"

router = APIRouter()

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Number = Annotated[int, Path(ge=1, le=10_000)]


@router.get("/dashboard")
def dashboard(request: Request, session: DbDep, user: UserDep) -> Response:
    data = readmodels.learner_dashboard(session, actor=user.actor)
    notice = notice_text(request.query_params.get("notice"))
    return render(request, "dashboard.html", data=data, now=datetime.now(UTC), notice=notice)


@router.get("/assessments/{assessment_id}")
def assessment_page(request: Request, assessment_id: Id, session: DbDep, user: UserDep) -> Response:
    assessment = assessments.get_visible(session, actor=user.actor, assessment_id=assessment_id)
    view = assessments.load_view(session, assessment=assessment)
    standing = attempts.standing(session, actor=user.actor, assessment=assessment)
    return render(request, "assessment.html", view=view, standing=standing)


@router.post("/assessments/{assessment_id}/start")
def start(assessment_id: Id, session: DbDep, user: UserDep) -> Response:
    attempt, _created = attempts.start_attempt(
        session, actor=user.actor, assessment_id=assessment_id
    )
    sheet = readmodels.attempt_sheet(session, actor=user.actor, attempt_id=attempt.id)
    if sheet.view.assessment.adaptive:
        return RedirectResponse(f"/attempts/{attempt.id}/next", status_code=303)
    first_open = (sheet.unanswered or [1])[0]
    return RedirectResponse(f"/attempts/{attempt.id}/questions/{first_open}", status_code=303)


def _question_page(
    request: Request,
    sheet: readmodels.AttemptSheet,
    number: int,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    state: attempts.NextQuestion | None = None,
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


def _served(session: DbDep, user: UserDep, sheet: readmodels.AttemptSheet) -> attempts.NextQuestion:
    return attempts.next_question(session, actor=user.actor, attempt_id=sheet.attempt.id)


@router.get("/attempts/{attempt_id}")
def attempt_home(attempt_id: Id, session: DbDep, user: UserDep) -> Response:
    sheet = readmodels.attempt_sheet(session, actor=user.actor, attempt_id=attempt_id)
    if sheet.attempt.status != AttemptStatus.IN_PROGRESS:
        return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)
    if sheet.view.assessment.adaptive:
        return RedirectResponse(f"/attempts/{attempt_id}/next", status_code=303)
    return RedirectResponse(f"/attempts/{attempt_id}/questions/1", status_code=303)


@router.get("/attempts/{attempt_id}/next")
def next_question(attempt_id: Id, session: DbDep, user: UserDep) -> Response:
    """Adaptive: the question the domain serves now, or the submit confirmation once it says
    done. Other assessments: their first unanswered question."""
    sheet = _open_sheet(session, user, attempt_id)
    if sheet.attempt.status != AttemptStatus.IN_PROGRESS:
        return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)
    if not sheet.view.assessment.adaptive:
        number = (sheet.unanswered or [1])[0]
        return RedirectResponse(f"/attempts/{attempt_id}/questions/{number}", status_code=303)
    state = _served(session, user, sheet)
    if state.question_id is None:
        return RedirectResponse(f"/attempts/{attempt_id}/submit", status_code=303)
    number = sheet.number_of(state.question_id)
    return RedirectResponse(f"/attempts/{attempt_id}/questions/{number}", status_code=303)


@router.get("/attempts/{attempt_id}/questions/{number}")
def question_page(
    request: Request, attempt_id: Id, number: Number, session: DbDep, user: UserDep
) -> Response:
    sheet = _open_sheet(session, user, attempt_id)
    if sheet.attempt.status != AttemptStatus.IN_PROGRESS:
        return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)
    if number > len(sheet.view.questions):
        return render_missing(request)
    if sheet.view.assessment.adaptive:
        state = _served(session, user, sheet)
        if state.question_id != sheet.view.questions[number - 1].id:
            # Adaptive: the page shows only the question served now.
            return RedirectResponse(f"/attempts/{attempt_id}/next", status_code=303)
        return _question_page(request, sheet, number, state=state)
    return _question_page(request, sheet, number)


def render_missing(request: Request) -> Response:
    return error_page(request, 404, "This assessment has no question with that number.")


# Domain input names -> the question form's fields (for errors shown next to the field).
_FORM_FIELDS = {"selected_option_ids": "option", "numeric_value": "numeric", "text_value": "text"}


def _raw(form: Form, name: str) -> str | None:
    """A form value as sent (the domain validates it), or None when absent."""
    value = form.data.get(name)
    return value if isinstance(value, str) else None


def _answer_from(form: Form, question: Question) -> Answer | None:
    """The submitted answer, or None when the form says nothing about this question."""
    if question.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        return Answer(selected_option_ids=form.ints("option"))
    if question.kind == QuestionKind.NUMERIC:
        value = form.number("numeric")  # parsed here; its range is the domain's to check
        return None if value is None else Answer(numeric_value=value)
    text = _raw(form, "text")
    return None if text is None else Answer(text_value=text)


@router.post("/attempts/{attempt_id}/questions/{number}")
async def save_answer(
    request: Request, attempt_id: Id, number: Number, session: DbDep, user: UserDep
) -> Response:
    form = await read_form(request)
    sheet = _open_sheet(session, user, attempt_id)
    if sheet.attempt.status != AttemptStatus.IN_PROGRESS:
        return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)
    total = len(sheet.view.questions)
    if number > total:
        return render_missing(request)
    question = sheet.view.questions[number - 1]
    adaptive = sheet.view.assessment.adaptive
    answer = _answer_from(form, question)
    if adaptive and answer is None and form.ok:
        # An adaptive test goes on only with an answer (it picks the next one from it).
        form.errors["numeric" if question.kind == QuestionKind.NUMERIC else "text"] = (
            "Answer this question to go on."
        )
    if form.ok and answer is not None:
        try:
            attempts.save_response(
                session,
                actor=user.actor,
                attempt_id=attempt_id,
                question_id=question.id,
                answer=answer,
            )
        except InvalidInput as exc:
            form.errors[_FORM_FIELDS.get(exc.field or "", "text")] = sentence(exc.message)
        except Conflict as exc:
            if exc.code == "time_up":
                return RedirectResponse(f"/attempts/{attempt_id}/submit", status_code=303)
            if exc.code in ADAPTIVE_REFUSALS:  # not the served question, or answered already
                return RedirectResponse(f"/attempts/{attempt_id}/next", status_code=303)
            raise
    if not form.ok:
        state = _served(session, user, sheet) if adaptive else None
        return _question_page(
            request, sheet, number, errors=form.errors, status_code=422, state=state
        )
    if request.headers.get(AUTOSAVE_HEADER) == "1":
        return Response(status_code=204)  # apps/web/js autosave: saved, stay on the page
    if adaptive:  # the next question depends on this answer
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
    if sheet.attempt.status != AttemptStatus.IN_PROGRESS:
        return RedirectResponse(f"/attempts/{attempt_id}/result", status_code=303)
    state = _served(session, user, sheet) if sheet.view.assessment.adaptive else None
    return render(
        request,
        "confirm.html",
        sheet=sheet,
        # An adaptive test serves only the questions it needs: none is "left unanswered".
        unanswered=[] if state is not None else sheet.unanswered,
        adaptive=state,
        Reason=Reason,
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
    data = readmodels.result_sheet(session, actor=user.actor, attempt_id=attempt_id)
    return render(
        request,
        "result.html",
        data=data,
        AnswerStatus=readmodels.AnswerStatus,
        FeedbackSource=FeedbackSource,
    )
