"""Exception handlers: every error leaves as `{"error": {"code", "message"}}`, never a traceback."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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

logger = structlog.get_logger("repo_api.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


# The one place where domain errors become HTTP statuses.
_DOMAIN_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyRequests: 429,
    ServiceUnavailable: 503,
}


def domain_status(exc: DomainError) -> int:
    """The HTTP status of a domain error (its nearest mapped class; 400 for anything else)."""
    return next((_DOMAIN_STATUS[c] for c in type(exc).__mro__ if c in _DOMAIN_STATUS), 400)


def error_response(
    request: Request,
    *,
    status: int,
    code: str,
    message: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = domain_status(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:  # 429 throttled, 503 rate limiter down
        headers["Retry-After"] = str(retry_after)
    field = getattr(exc, "field", None)
    return error_response(
        request,
        status=status,
        code=exc.code,
        message=exc.message,
        extra={"field": field} if field else None,
        headers=headers,
    )


# pydantic's own `msg` may repeat the submitted value (email-validator quotes the characters it
# refused, a custom validator's ValueError whatever it was given) and `input`/`ctx` are the value
# itself: a 422 body is written here instead, from the error's type and the schema's own limits
# (`ctx` keys that come from the schema, never from the request).
_VALIDATION_MESSAGES = {
    "missing": "field required",
    "extra_forbidden": "unknown field",
    "string_too_short": "at least {min_length} characters",
    "string_too_long": "at most {max_length} characters",
    "too_short": "at least {min_length} items",
    "too_long": "at most {max_length} items",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "multiple_of": "must be a multiple of {multiple_of}",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "string_unicode": "must be valid text",
    "string_pattern_mismatch": "has the wrong format",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "json_invalid": "the body is not valid JSON",
    "json_type": "the body is not valid JSON",
}
_SCHEMA_CTX = ("min_length", "max_length", "gt", "ge", "lt", "le", "multiple_of", "expected")


def validation_detail(error: Any) -> dict[str, Any]:
    """One pydantic error as `{"loc", "msg", "type"}` without anything the client sent: the
    message comes from `_VALIDATION_MESSAGES`; the location is the schema's field names (an
    unknown key is the client's text, so an `extra_forbidden` names its parent only)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    template = _VALIDATION_MESSAGES.get(kind, "invalid value")
    try:
        msg = template.format(**{k: ctx[k] for k in _SCHEMA_CTX if k in ctx})
    except (KeyError, IndexError):
        msg = template.split(" {")[0]
    loc = [p if isinstance(p, int) else str(p) for p in error.get("loc", ())]
    if kind == "extra_forbidden" or kind.startswith("json_"):
        loc = loc[:1]  # the unknown key / a position in the client's text
    return {"loc": loc, "msg": msg, "type": kind or "value_error"}


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [validation_detail(e) for e in exc.errors()]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return error_response(
        request,
        status=422,
        code="validation_error",
        message=f"{where}: {first['msg']}" if where else str(first["msg"]),
        extra={"details": details},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(
        request,
        status=exc.status_code,
        code=code,
        message=message,
        headers=dict(exc.headers) if exc.headers else None,
    )


def refusal(request: Request, status: int, message: str) -> JSONResponse:
    """The edge's own refusals (`repo_http.BodyLimitMiddleware`: 413, 400) as JSON errors."""
    return error_response(
        request, status=status, code=_HTTP_CODES.get(status, "error"), message=message
    )


async def unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    """An exception no handler took (`repo_http.RequestContextMiddleware`'s `on_error`)."""
    # repo_db raises DatabaseUnavailableError for lost connections, an exhausted pool and lock
    # timeouts: retryable, so 503 with Retry-After rather than 500.
    if isinstance(exc, DatabaseUnavailableError):
        logger.warning("request.db_unavailable", error=type(exc).__name__)
        return error_response(
            request,
            status=503,
            code="unavailable",
            message="the database is busy or unreachable; retry shortly",
            headers={"Retry-After": "1"},
        )
    logger.exception("request.unhandled_error", error=type(exc).__name__)
    return error_response(
        request, status=500, code="internal_error", message="internal server error"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, unhandled_error)
