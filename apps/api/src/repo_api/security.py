"""HTTP-level protections: body size limit, security headers, the bulkheads of log-in and
registration (Argon2 and auth I/O budgets).

The middlewares are plain ASGI (no BaseHTTPMiddleware): they see every request, including ones
that never reach a route, and the body limit works on the byte stream itself, so a body without
Content-Length (chunked) is cut off just the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repo_api.config import ApiSettings

T = TypeVar("T")

DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")
# JSON API: nothing may load, frame or run. The docs pages need their own scripts and styles.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


async def _run_limited(
    request: Request, name: str, capacity: int, func: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    state = request.app.state
    limiter = getattr(state, name, None)
    if limiter is None:  # created lazily: anyio limiters belong to a running event loop
        limiter = anyio.CapacityLimiter(capacity)
        setattr(state, name, limiter)
    return await anyio.to_thread.run_sync(lambda: func(*args, **kwargs), limiter=limiter)


async def run_argon2(request: Request, func: Callable[..., T], *args: Any) -> T:
    """Run an Argon2 hash/verify in a worker thread under the app's own small limiter.

    The default thread pool (40 threads) serves every sync route and dependency: if a login
    flood filled it with Argon2 work, a logged-in user's `GET /users/me` would queue behind it.
    Waiting for this limiter costs no thread.
    """
    settings: ApiSettings = request.app.state.settings
    return await _run_limited(request, "argon2_limiter", settings.argon2_concurrency, func, *args)


async def run_auth_io(request: Request, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The blocking I/O of login/registration (throttle store, the short database units) under
    a bulkhead of its own: a flood of them holds at most `auth_io_concurrency` threads and
    database connections, never the whole pool that other routes need."""
    settings: ApiSettings = request.app.state.settings
    return await _run_limited(
        request, "auth_io_limiter", settings.auth_io_concurrency, func, *args, **kwargs
    )


@dataclass(frozen=True, slots=True)
class AuthBulkheads:
    """`run_argon2` and `run_auth_io` of one request, in the shape the account service takes
    (`repo_domain.signin.Offload`): the service decides the steps, these decide where they run."""

    request: Request

    async def argon2(self, func: Callable[[], T], /) -> T:
        return await run_argon2(self.request, func)

    async def io(self, func: Callable[[], T], /) -> T:
        return await run_auth_io(self.request, func)


class BodyLimitMiddleware:
    """413 for a body above `max_bytes`: at once from Content-Length, else while it streams."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

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
                if declared < 0 or declared > self.max_bytes:
                    await self._refuse(scope, send, status=413 if declared >= 0 else 400)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPException from body reading: it becomes our JSON 413.
                    raise HTTPException(413, f"request body larger than {self.max_bytes} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as exc:  # raised outside FastAPI's handlers (e.g. a middleware)
            if exc.status_code != 413 or started:
                raise
            await self._refuse(scope, send, status=413)

    async def _refuse(self, scope: Scope, send: Send, *, status: int) -> None:
        message = (
            f"request body larger than {self.max_bytes} bytes"
            if status == 413
            else "invalid Content-Length"
        )
        code = "payload_too_large" if status == 413 else "bad_request"
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    """CSP (frame-ancestors), nosniff, Referrer-Policy, no-store; HSTS in production."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        docs = path.startswith(DOCS_PATHS)
        extra = [
            (b"content-security-policy", (DOCS_CSP if docs else API_CSP).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if not docs:
            # Tokens and personal data: never in a shared or browser cache.
            extra.append((b"cache-control", b"no-store"))
        if self.production:
            extra.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = (
                    [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                    if not docs
                    else list(message.get("headers", []))
                )
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
