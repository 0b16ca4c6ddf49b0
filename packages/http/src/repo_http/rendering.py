"""How an app renders the responses the edge produces itself, and the neutral fallbacks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

# A refusal of the edge (413 body too large, 400 unreadable Content-Length): the app's own error
# body for `status` with the edge's `message`. The message never repeats anything from the input.
RefusalRenderer = Callable[[Request, int, str], Response]
# An exception that no handler took: the app logs it as it likes and answers (usually 500).
ErrorRenderer = Callable[[Request, Exception], Awaitable[Response]]


def plain_refusal(request: Request, status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status)


async def plain_error(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("internal server error", status_code=500)
