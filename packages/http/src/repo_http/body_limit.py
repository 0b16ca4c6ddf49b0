"""A request-body limit enforced on the byte stream, before anything parses the body.

Without it, whatever reads the body first decides how much memory a request may take: the web's
CSRF check parses every anonymous form, and Starlette's own form caps allow about 1 GiB.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repo_http.rendering import RefusalRenderer, plain_refusal


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


class BodyLimitMiddleware:
    """413 for a body above `max_bytes`: at once from Content-Length, else while it streams.

    A body without Content-Length (chunked) is counted as it arrives. When it passes the limit,
    the 413 goes out at once and the app, which is still reading, sees a client that has gone
    away (`http.disconnect`): it stops parsing, and whatever it still sends or raises is
    dropped. So a form and a JSON body are treated alike, whoever reads them.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, render: RefusalRenderer = plain_refusal
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    await self._refuse(scope, send, 400)
                    return
                if declared > self.max_bytes:
                    await self._refuse(scope, send, 413)
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
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(scope, send, 413)
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

    async def _refuse(self, scope: Scope, send: Send, status: int) -> None:
        message = (
            f"The request body is larger than {self.max_bytes} bytes."
            if status == 413
            else "The Content-Length header is not a valid length."
        )
        response = self.render(Request(scope), status, message)
        response.headers["connection"] = "close"  # the rest of the body is not read
        await response(scope, _nothing, send)
