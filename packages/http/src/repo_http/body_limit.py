"""A request-body limit enforced on the byte stream, before anything parses the body.

Without it, whatever reads the body first decides how much memory a request may take: the web's
CSRF check parses every anonymous form, and Starlette's own form caps allow about 1 GiB.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repo_http.rendering import RefusalRenderer, plain_refusal

#: What multipart/form-data adds around one uploaded file: boundaries, part headers and the few
#: small fields beside it (the web's CSRF token). Far more than they take; far less than a file.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024


def upload_limit(file_max_bytes: int) -> int:
    """The body limit of a route taking one file of up to `file_max_bytes` as multipart."""
    return file_max_bytes + MULTIPART_ALLOWANCE_BYTES


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


class BodyLimitMiddleware:
    """413 for a body above `max_bytes`: at once from Content-Length, else while it streams.

    `route_limits` raises the limit of a few routes, by method and exact path (an upload route:
    `upload_limit`); every other route keeps `max_bytes`, and a route's limit is never below it.

    A body without Content-Length (chunked) is counted as it arrives. When it passes the limit,
    the 413 goes out at once and the app, which is still reading, sees a client that has gone
    away (`http.disconnect`): it stops parsing, and whatever it still sends or raises is
    dropped. So a form and a JSON body are treated alike, whoever reads them.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        route_limits: Mapping[tuple[str, str], int] | None = None,
        render: RefusalRenderer = plain_refusal,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.route_limits = dict(route_limits or {})
        self.render = render

    def limit_for(self, method: str, path: str) -> int:
        """The body limit of one request: its route's, if raised, else `max_bytes`."""
        return max(self.max_bytes, self.route_limits.get((method, path), 0))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("method", ""), scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    await self._refuse(scope, send, 400, limit)
                    return
                if declared > limit:
                    await self._refuse(scope, send, 413, limit)
                    return
        received = 0
        started = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await self._refuse(scope, send, 413, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # The app failed because its client "went away" (the refused body): nothing to add.

    async def _refuse(self, scope: Scope, send: Send, status: int, limit: int) -> None:
        message = (
            f"The request body is larger than {limit} bytes."
            if status == 413
            else "The Content-Length header is not a valid length."
        )
        response = self.render(Request(scope), status, message)
        response.headers["connection"] = "close"  # the rest of the body is not read
        await response(scope, _nothing, send)
