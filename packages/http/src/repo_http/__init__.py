"""The HTTP edge both Starlette apps (the API and the web UI) mount, written once.

Plain ASGI middleware (no BaseHTTPMiddleware): each sees every request, including ones that never
reach a route. From the outside in, an app mounts them in this order:

1. `SecurityHeadersMiddleware`: CSP, nosniff, referrer policy, framing, HSTS in production and
   `Cache-Control: no-store`, on every response, the error pages of the layers below included.
2. `RequestContextMiddleware`: the request id (X-Request-ID), one access-log line per request,
   and the last line of defence against an exception no handler took (the app renders it).
3. `BodyLimitMiddleware`: 413 for a body above the limit, before anything parses it; an
   upload route (QTI import) is given a larger limit here, by method and path (`upload_limit`).

Each app keeps its own error rendering (JSON for the API, the HTML error page for the web): the
middleware takes a renderer and falls back to a neutral plain-text body without one.
"""

from __future__ import annotations

from repo_http.body_limit import MULTIPART_ALLOWANCE_BYTES, BodyLimitMiddleware, upload_limit
from repo_http.headers import HSTS, SecurityHeadersMiddleware
from repo_http.rendering import ErrorRenderer, RefusalRenderer
from repo_http.request_context import REQUEST_ID_HEADER, RequestContextMiddleware

__all__ = [
    "HSTS",
    "MULTIPART_ALLOWANCE_BYTES",
    "REQUEST_ID_HEADER",
    "BodyLimitMiddleware",
    "ErrorRenderer",
    "RefusalRenderer",
    "RequestContextMiddleware",
    "SecurityHeadersMiddleware",
    "upload_limit",
]
