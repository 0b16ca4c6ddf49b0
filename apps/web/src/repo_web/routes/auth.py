"""Sign up, log in, log out, and the front page.

Log-in and sign-up are `repo_domain.signin.AccountService`, the same account flow as the API's
(throttled per client address and per account: a 429 page with Retry-After; a taken email gets
the same answer after the same Argon2 work). A successful log-in sets the device cookie
(`DEVICE_COOKIE`, OWASP device cookies): the browser presents it on later log-ins and stays
trusted for that account while guessing from elsewhere locks untrusted clients out. This
module only translates: form fields in, a domain `InvalidInput` becomes an error next to its
field (422), a wrong password the one "Wrong email or password." message. Neither route takes
the per-request unit of work: Argon2 runs in a worker thread with no connection checked out.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from repo_domain import accounts, assessments
from repo_domain.errors import InvalidInput, Unauthorized
from repo_domain.signin import SIGN_UP_ACCEPTED
from repo_web.config import WebSettings, new_csrf_token
from repo_web.deps import SESSION_COOKIE, AccountsDep, DbDep, MaybeUserDep, UserDep
from repo_web.forms import Form, read_form, safe_next
from repo_web.security import CSRF_COOKIE
from repo_web.templating import render, sentence

router = APIRouter()

WRONG_CREDENTIALS = "Wrong email or password."  # never says which of the two was wrong
DEVICE_COOKIE = "device"
DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600  # a year: the browser stays a known device


def client_address(request: Request) -> str:
    """The client's address as uvicorn saw it (X-Forwarded-For only from trusted proxies, see
    uvicorn's --forwarded-allow-ips): the key of the per-address throttles."""
    return request.client.host if request.client else "unknown"


def _password(form: Form) -> str:
    """The password as typed: never trimmed (spaces are part of it); the domain checks it."""
    value = form.data.get("password")
    return value if isinstance(value, str) else ""


def _add_error(form: Form, exc: InvalidInput, *, default_field: str) -> None:
    """A domain refusal next to its field (the first error of a field stays)."""
    form.errors.setdefault(exc.field or default_field, sentence(exc.message))


def _set_session(request: Request, response: Response, token: str, device_token: str) -> None:
    settings: WebSettings = request.app.state.settings
    # Only the log-in form needs it (path), never a script (HttpOnly) nor another site (strict);
    # logging out keeps it: the browser is still the owner's.
    response.set_cookie(
        DEVICE_COOKIE,
        device_token,
        max_age=DEVICE_COOKIE_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=settings.cookies_secure,
        path="/login",
    )
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
    notice = SIGN_UP_ACCEPTED if registered == "1" else None
    return render(request, "login.html", values={}, errors={}, next=safe_next(next), notice=notice)


@router.post("/login")
async def login(request: Request, service: AccountsDep) -> Response:
    form = await read_form(request)
    email = form.text("email", required=True)
    password = _password(form)
    target = safe_next(form.text("next"))
    if form.ok:
        try:
            # Throttled first: TooManyRequests (429 page) or ServiceUnavailable (503).
            issued = await service.log_in(
                email=email,
                password=password,
                address=client_address(request),
                device_token=request.cookies.get(DEVICE_COOKIE),
            )
        except InvalidInput as exc:
            _add_error(form, exc, default_field="email")
        except Unauthorized:
            form.errors["password"] = WRONG_CREDENTIALS
        else:
            response = RedirectResponse(target, status_code=303)
            _set_session(request, response, issued.token, issued.device_token)
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
    return render(
        request,
        "signup.html",
        values={},
        errors={},
        password_min=accounts.PASSWORD_MIN_LENGTH,
    )


@router.post("/signup")
async def signup(request: Request, service: AccountsDep) -> Response:
    form = await read_form(request)
    display_name = form.text("display_name", required=True)
    email = form.text("email", required=True)
    password = _password(form)
    # Every field's problem at once (the service checks again and stops at the first).
    for problem in accounts.new_account_problems(
        email=email, password=password, display_name=display_name
    ):
        _add_error(form, problem, default_field="email")
    if form.ok:
        try:
            # Throttled: 429 or 503 page.
            signed_in = await service.sign_up(
                email=email,
                password=password,
                display_name=display_name,
                address=client_address(request),
            )
        except InvalidInput as exc:
            _add_error(form, exc, default_field="email")
        else:
            if signed_in is None:  # a taken address: the hedged notice, no session
                return RedirectResponse("/login?registered=1", status_code=303)
            response = RedirectResponse("/dashboard?notice=welcome", status_code=303)
            _set_session(request, response, signed_in.token, signed_in.device_token)
            return response
    return render(
        request,
        "signup.html",
        status_code=422,
        values={"email": email, "display_name": display_name},
        errors=form.errors,
        password_min=accounts.PASSWORD_MIN_LENGTH,
    )


@router.post("/logout")
def logout(request: Request, session: DbDep, user: UserDep) -> Response:
    accounts.logout(session, actor=user.actor)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
