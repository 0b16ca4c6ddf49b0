"""Every error becomes an HTML page (never a traceback): 403, 404, 409/422, 500 and 503.

No error page repeats what the client sent: the messages are fixed sentences or the domain's
own (which name the field, never its value). A form page that answers 422 re-fills the fields
the user typed; that is the form, not an error message (the hostile sweep's "echo" class holds
both apps to this)."""

from __future__ import annotations

from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from repo_db import DatabaseUnavailableError
from repo_domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from repo_web.deps import LoginRequired
from repo_web.security import CsrfError
from repo_web.templating import render, sentence

logger = structlog.get_logger("repo_web.errors")

RETRY_AFTER_SECONDS = 5
TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "That cannot be done now",
    413: "Too much data",
    422: "Check your input",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


# The one place where domain errors become page statuses. A page never asks for a bearer
# token, so Unauthorized (a bad or expired session) is a 403 page here.
_DOMAIN_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    Unauthorized: 403,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyRequests: 429,
    ServiceUnavailable: 503,
}


def domain_status(exc: DomainError) -> int:
    return next((_DOMAIN_STATUS[c] for c in type(exc).__mro__ if c in _DOMAIN_STATUS), 400)


def error_page(
    request: Request, status: int, message: str, *, headers: dict[str, str] | None = None
) -> HTMLResponse:
    response = render(
        request,
        "error.html",
        status_code=status,
        status=status,
        title=TITLES.get(status, "Error"),
        message=message,
    )
    if headers:
        response.headers.update(headers)
    return response


async def _login_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


async def _csrf(request: Request, exc: Exception) -> Response:
    return error_page(
        request, 403, "The form was stale or not sent from this site. Reload the page and retry."
    )


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = domain_status(exc)
    retry_after = getattr(exc, "retry_after", None)  # 429 throttled, 503 rate limiter down
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if status == 429:
        minutes = f"{retry_after // 60 + 1} minutes" if retry_after and retry_after > 90 else None
        wait = minutes or f"{retry_after or 1} seconds"
        message = f"Too many attempts from here or for this account. Please wait {wait} and retry."
        return error_page(request, status, message, headers=headers)
    return error_page(request, status, sentence(exc.message), headers=headers)


async def _validation(request: Request, exc: Exception) -> Response:
    return error_page(request, 404 if request.method == "GET" else 400, "Invalid address or form.")


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = {
        404: "There is nothing at this address.",
        405: "This address does not accept that kind of request.",
    }.get(exc.status_code, str(exc.detail))
    return error_page(request, exc.status_code, message)


async def _db_unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("web.db_unavailable", error=type(exc).__name__)
    return error_page(
        request,
        503,
        "The database is busy or unreachable. Please try again in a few seconds.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def refusal(request: Request, status: int, message: str) -> Response:
    """The edge's own refusals (`repo_http.BodyLimitMiddleware`: 413, 400) as the error page."""
    return error_page(request, status, message)


async def unhandled_error(request: Request, exc: Exception) -> Response:
    """An exception no handler took (`repo_http.RequestContextMiddleware`'s `on_error`, and
    Starlette's last resort): logged (without local variables, `repo_observability`), 500 page."""
    logger.exception("web.unhandled_error", error=type(exc).__name__)
    return error_page(request, 500, "Sorry, an unexpected error happened on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfError, _csrf)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(DatabaseUnavailableError, _db_unavailable)
    app.add_exception_handler(Exception, unhandled_error)
