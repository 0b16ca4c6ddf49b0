"""Request ids (X-Request-ID) and one access-log line per request."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repo_http.rendering import ErrorRenderer, plain_error

REQUEST_ID_HEADER = b"x-request-id"  # ASGI header names are lower-case bytes
# A caller's id is kept only if it is short and plain: it goes into logs and response headers.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            return text if _VALID_ID.match(text) else None
    return None


class RequestContextMiddleware:
    """Assigns or propagates X-Request-ID, logs one line per request, answers stray exceptions.

    The id is in `scope["state"]["request_id"]` (`request.state.request_id`), bound in structlog's
    context for every line logged during the request, and in the response's X-Request-ID header.
    An exception that escaped every handler goes to the app's `on_error`, which logs it and
    renders the answer (its 500 page); without one it is logged here and answered in plain text.
    The access line names the method, path (never the query string, which may carry tokens),
    status and duration.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        on_error: ErrorRenderer | None = None,
        logger_name: str = "repo_http.access",
    ) -> None:
        self.app = app
        self.on_error = on_error
        self.logger = structlog.get_logger(logger_name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # - the last line of defence
            if response_started or self.on_error is None:
                self.logger.exception("request.unhandled_error", error=type(exc).__name__)
            if response_started:
                raise
            render = self.on_error or plain_error
            response = await render(Request(scope, receive), exc)
            await response(scope, receive, send_with_id)
        finally:
            self.logger.info(
                "request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
