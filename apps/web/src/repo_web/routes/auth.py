"""Sign up, log in, log out, and the front page.

Log-in and sign-up are throttled per client address and per account with the API's
`repo_domain.throttle.Throttle` (app.state.throttle; 429 page with Retry-After). Sign-up answers
the same whether or not the email already has an account (like the API's 202), after the same
Argon2 work, so it cannot be used to find out who has an account. Neither route takes the
per-request unit of work: Argon2 runs in a worker thread with no connection checked out.
"""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from repo_db.security import hash_password
from repo_domain import accounts, assessments
from repo_domain.errors import Conflict, DomainError, Unauthorized, InvalidInput
from repo_domain.throttle import Throttle
from repo_web.config import WebSettings, new_csrf_token
from repo_web.deps import SESSION_COOKIE, DbDep, MaybeUserDep, UserDep
from repo_web.forms import read_form, safe_next
from repo_web.security import CSRF_COOKIE
from repo_web.templating import render

router = APIRouter()

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
WRONG_CREDENTIALS = "Wrong email or password."  # never says which of the two was wrong
REGISTERED = "If this address can be registered, the account now exists: log in with your password."


def client_address(request: Request) -> str:
    """The client's address as uvicorn saw it (X-Forwarded-For only from trusted proxies, see
    uvicorn's --forwarded-allow-ips): the key of the per-address throttles."""
    return request.client.host if request.client else "unknown"


def _throttle(request: Request) -> Throttle:
    throttle: Throttle = request.app.state.throttle
    return throttle


def _account_key(email: str) -> str:
    """The per-account throttle key: the normalised email (what the account is stored under)."""
    try:
        return accounts.normalise_email(email)
    except InvalidInput:
        return email.strip().casefold()


def _set_session(request: Request, response: Response, token: str) -> None:
    settings: WebSettings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.cookies_secure,
        path="/",
    )
    # A fresh CSRF token per login, so a token seen before login is worth nothing after it.
    response.set_cookie(
        CSRF_COOKIE,
        new_csrf_token(),
        httponly=True,
        samesite="lax",
        secure=settings.cookies_secure,
        path="/",
    )


@router.get("/")
def home(request: Request, session: DbDep, user: MaybeUserDep) -> Response:
    if user is not None:
        return RedirectResponse("/dashboard", status_code=303)
    catalogue = assessments.list_published(session, query=None, after=None, limit=20)
    return render(request, "home.html", assessments=catalogue.items)


@router.get("/login")
def login_page(
    request: Request, user: MaybeUserDep, next: str | None = None, registered: str | None = None
) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = REGISTERED if registered == "1" else None
    return render(request, "login.html", values={}, errors={}, next=safe_next(next), notice=notice)


@router.post("/login")
async def login(request: Request) -> Response:
    """No unit of work around the request: Argon2 (~0.4 s) runs with no connection checked out
    (repo_domain.accounts.login opens its own short units), off the event loop."""
    form = await read_form(request)
    email = form.text("email", required=True, max_length=320).lower()
    password = form.text("password", required=True, max_length=1024)
    target = safe_next(form.text("next"))
    if form.ok:
        settings: WebSettings = request.app.state.settings
        throttle, account = _throttle(request), _account_key(email)
        # Before Argon2: raises TooManyRequests (429 page) or ServiceUnavailable (503).
        await run_in_threadpool(
            throttle.check_login, address=client_address(request), account=account
        )
        try:
            token, _row, _user = await run_in_threadpool(
                accounts.login,
                request.app.state.engine,
                email=email,
                password=password,
                ttl=timedelta(seconds=settings.session_ttl_seconds),
            )
        except Unauthorized:
            await run_in_threadpool(throttle.login_failed, account=account)
            form.errors["password"] = WRONG_CREDENTIALS
        else:
            response = RedirectResponse(target, status_code=303)
            _set_session(request, response, token)
            return response
    return render(
        request,
        "login.html",
        status_code=422,
        values={"email": email},
        errors=form.errors,
        next=target,
    )


@router.get("/signup")
def signup_page(request: Request, user: MaybeUserDep) -> Response:
    if user is not None:
        return RedirectResponse("/dashboard", status_code=303)
    return render(request, "signup.html", values={}, errors={})


@router.post("/signup")
async def signup(request: Request) -> Response:
    form = await read_form(request)
    display_name = form.text("display_name", required=True, max_length=100)
    email = form.text("email", required=True, max_length=320).lower()
    password = form.text("password", required=True, max_length=1024)
    if email and "email" not in form.errors:
        try:
            email = accounts.normalise_email(email)
        except InvalidInput:
            form.errors["email"] = "Enter an email address like name@example.com."
        else:
            if not EMAIL_RE.match(email):
                form.errors["email"] = "Enter an email address like name@example.com."
    if password and len(password) < MIN_PASSWORD:
        form.errors["password"] = f"Use at least {MIN_PASSWORD} characters."
    if form.ok:
        try:
            accounts.check_password_policy(password, email=email)
        except DomainError as exc:
            form.errors["password"] = exc.message[:1].upper() + exc.message[1:] + "."
    if form.ok:
        # Raises TooManyRequests (429 page) or ServiceUnavailable (503) before any Argon2 work.
        await run_in_threadpool(
            _throttle(request).check_register, address=client_address(request), account=email
        )
        password_hash = await run_in_threadpool(hash_password, password)
        # A taken address gets the same answer after the same work: nothing to tell apart.
        with contextlib.suppress(Conflict):
            await run_in_threadpool(
                accounts.create_account,
                request.app.state.engine,
                email=email,
                password_hash=password_hash,
                display_name=display_name,
            )
        return RedirectResponse("/login?registered=1", status_code=303)
    return render(
        request,
        "signup.html",
        status_code=422,
        values={"email": email, "display_name": display_name},
        errors=form.errors,
    )


@router.post("/logout")
def logout(request: Request, session: DbDep, user: UserDep) -> Response:
    accounts.logout(session, actor=user.actor)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
