"""The web's own part of its HTTP protections: its Content-Security-Policy and CSRF protection
(double-submit cookie) for forms. The other middleware (body limit, security headers, no-store,
HSTS, request ids) is the shared edge, `repo_http`."""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repo_web.config import new_csrf_token

CSRF_COOKIE = "csrftoken"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# No inline script or style anywhere: the pages use /static only (inline SVG needs no exception).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
REFERRER_POLICY = "same-origin"
EXTRA_HEADERS = {"Permissions-Policy": "camera=(), microphone=(), geolocation=()"}


class CsrfError(Exception):
    """A state-changing request without the form token that matches the cookie: 403."""


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # - a malformed cookie header is just no cookie
                return None
            if name in jar:
                return jar[name].value
    return None


class CsrfCookieMiddleware:
    """Makes sure every visitor holds a CSRF cookie (set on first visit).

    The token is exposed to templates as ``request.state.csrf_token``.
    """

    def __init__(self, app: ASGIApp, *, secure_cookies: bool) -> None:
        self.app = app
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _cookie(scope, CSRF_COOKIE)
        fresh = not token or len(token) > 128
        if fresh:
            token = new_csrf_token()
        scope.setdefault("state", {})["csrf_token"] = token
        set_cookie = f"{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax" + (
            "; Secure" if self.secure_cookies else ""
        )

        async def send_with_headers(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"set-cookie", set_cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def verify_csrf(request: Request) -> None:
    """App-wide dependency: every POST must carry the cookie's token in its form."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    try:
        form = await request.form()
    except Exception as exc:  # - an unparseable body cannot carry a token
        raise CsrfError("unreadable form") from exc
    sent = form.get(CSRF_FIELD)
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(cookie, sent):
        raise CsrfError("missing or wrong CSRF token")
