"""Domain errors. Routes never build HTTP errors themselves; errors.py maps these to statuses."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is a stable machine-readable string, the message is for humans."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid_input"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Unprocessable(DomainError):
    status_code = 422
    code = "unprocessable"


class TooManyRequests(DomainError):
    """Throttled: `retry_after` seconds until the window frees a slot (HTTP 429 Retry-After)."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(DomainError):
    """A dependency (e.g. the throttle's Redis) is down: retry later (HTTP 503)."""

    status_code = 503
    code = "unavailable"
    retry_after = 5
