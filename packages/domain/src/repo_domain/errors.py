"""Domain errors. They carry no HTTP status: each adapter maps them to its own answer in one
place (`repo_api.errors` to JSON problems, `repo_web.errors` to HTML pages and form errors)."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is a stable machine-readable string, the message is for humans."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    """The input breaks a rule (a limit, a character, a range, consistency between fields).

    `field` names the offending input (e.g. ``prompt``, ``options``) so an adapter can show the
    message next to it; None when the whole request is at fault.
    """

    code = "invalid_input"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request is valid but the state forbids it now (already submitted, not a draft, ...)."""

    code = "conflict"


class TooManyRequests(DomainError):
    """Throttled: `retry_after` seconds until the window frees a slot."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(DomainError):
    """A dependency (e.g. the throttle's Redis) is down: retry after `retry_after` seconds."""

    code = "unavailable"
    retry_after = 5


__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
]
