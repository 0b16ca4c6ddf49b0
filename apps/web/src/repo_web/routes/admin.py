"""Admin pages: user search (keyset pages over an index-served prefix search), a page per user,
role changes and (de)activation confirmed before they happen, the audit log, and every
assessment with a link to its statistics."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from repo_db.models import Role
from repo_domain import accounts, assessments, attempts, audit
from repo_domain.errors import Conflict, InvalidInput
from repo_domain.validation import MAX_ID, SEARCH_QUERY_MAX
from repo_web.config import WebSettings
from repo_web.deps import AdminDep, DbDep
from repo_web.forms import read_form
from repo_web.notices import Notice, notice_for, notice_text
from repo_web.templating import render, sentence

ROLES = tuple(Role)

router = APIRouter(prefix="/admin")

Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("")
def index(request: Request, session: DbDep, user: AdminDep) -> Response:
    page = assessments.list_managed(session, actor=user.actor, status=None, after=None, limit=100)
    return render(request, "admin/index.html", assessments=page.items)


@router.get("/users")
def users(
    request: Request,
    session: DbDep,
    user: AdminDep,
    q: str = "",
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> Response:
    """The search box's `q` goes to the domain as typed (it checks length and characters); a
    refusal is shown next to the box with status 422."""
    settings: WebSettings = request.app.state.settings
    # Where a change returns to: this page without its notice, so an old notice is not repeated.
    kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "notice"])
    back = request.url.path + (f"?{kept}" if kept else "")
    try:
        page = accounts.list_users(
            session, actor=user.actor, query=q, after=after, limit=settings.page_size
        )
    except InvalidInput as exc:
        return render(
            request,
            "admin/users.html",
            status_code=422,
            q=q,
            q_max=SEARCH_QUERY_MAX,
            error=sentence(exc.message),
            page=None,
            next_url=None,
            roles=ROLES,
            back="/admin/users",
            notice=None,
        )
    next_url = None
    if page.next_after is not None:
        next_url = "/admin/users?" + urlencode({"q": q, "after": page.next_after})
    return render(
        request,
        "admin/users.html",
        q=q,
        q_max=SEARCH_QUERY_MAX,
        error=None,
        page=page,
        next_url=next_url,
        roles=ROLES,
        back=back,
        notice=notice_text(request.query_params.get("notice")),
    )


def _back(target: str) -> str:
    return target if target.startswith("/admin/users") else "/admin/users"


#: Attempts and log lines on one user's page, newest first.
USER_PAGE_ROWS = 20
AUDIT_PAGE_ROWS = 50


@router.get("/users/{user_id}")
def user_page(request: Request, user_id: Id, session: DbDep, user: AdminDep) -> Response:
    """One account: profile, role and status forms (each asks for confirmation), its attempts
    and what admins changed on it (the audit log)."""
    person = accounts.get_user(session, actor=user.actor, user_id=user_id)
    history = attempts.history(
        session, actor=user.actor, user_id=user_id, after=None, limit=USER_PAGE_ROWS
    )
    log = audit.list_events(
        session,
        actor=user.actor,
        subject=audit.Subject.USER,
        subject_id=user_id,
        limit=USER_PAGE_ROWS,
    )
    return render(
        request,
        "admin/user.html",
        person=person,
        attempts=history.items,
        events=log.items,
        roles=ROLES,
        back=request.url.path,
        notice=notice_text(request.query_params.get("notice")),
    )


@router.post("/users/{user_id}")
async def update_user(request: Request, user_id: Id, session: DbDep, user: AdminDep) -> Response:
    """Role and (de)activation forms, in two steps: without ``confirm=1`` the change is only
    checked and a confirmation page says what it will do; with it the change is made (and
    logged). The domain checks the role; a refusal (an unknown role, an admin locking themselves
    out) comes back as a notice: its code travels in the URL, the sentence comes from
    `repo_web.notices`."""
    form = await read_form(request)
    target = _back(form.text("back"))
    sep = "&" if "?" in target else "?"
    role = form.text("role") or None
    is_active = {"1": True, "0": False}.get(form.text("active"))
    try:
        change = accounts.plan_user_update(
            session, actor=user.actor, user_id=user_id, role=role, is_active=is_active
        )
        if not change.changes_anything:
            return RedirectResponse(target, status_code=303)
        if form.text("confirm") != "1":
            return render(
                request,
                "admin/confirm_change.html",
                change=change,
                role=role,
                active=form.text("active"),
                back=target,
            )
        accounts.update_user(
            session, actor=user.actor, user_id=user_id, role=role, is_active=is_active
        )
    except (Conflict, InvalidInput) as exc:
        return RedirectResponse(f"{target}{sep}{urlencode({'notice': notice_for(exc)})}", 303)
    return RedirectResponse(f"{target}{sep}{urlencode({'notice': Notice.USER_CHANGED})}", 303)


@router.get("/audit")
def audit_log(
    request: Request,
    session: DbDep,
    user: AdminDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Every admin and author action, newest first."""
    page = audit.list_events(session, actor=user.actor, before=before, limit=AUDIT_PAGE_ROWS)
    older = f"/admin/audit?before={page.next_after}" if page.next_after is not None else None
    return render(request, "admin/audit.html", events=page.items, older_url=older)
