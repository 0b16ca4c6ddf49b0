"""The API's own part of its HTTP protections: its Content-Security-Policy, and the bulkheads of
log-in and registration (Argon2 and auth I/O budgets). The middleware (body limit, security
headers, no-store, HSTS, request ids) is the shared edge, `repo_http`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from fastapi import Request

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


def content_security_policy(path: str) -> str:
    """The API's CSP for `path` (`repo_http.SecurityHeadersMiddleware` asks per request)."""
    return DOCS_CSP if path.startswith(DOCS_PATHS) else API_CSP
