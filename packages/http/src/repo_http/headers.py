"""Security headers on every response, `Cache-Control: no-store` on all but public assets, and
HSTS in production."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Two years, subdomains included: what the HSTS preload list asks for.
HSTS = "max-age=63072000; includeSubDomains"


class SecurityHeadersMiddleware:
    """CSP, nosniff, Referrer-Policy, X-Frame-Options, COOP, `no-store`; HSTS in production.

    `csp` is the app's Content-Security-Policy, or a function of the path when parts of the app
    need another one (the API's docs pages). The app's CSP should say `frame-ancestors`;
    X-Frame-Options says the same to browsers that ignore it. A header the response already
    carries wins, except Cache-Control on a no-store response.

    No-store applies to every response whose path does not start with one of `cacheable`
    (the web's /static, the API's docs), by this reasoning: which responses are personal cannot
    be told reliably at this layer. A session cookie in the request does not say it (the log-in
    answer sets the cookie, the log-out answer clears it, an error page for a logged-in user
    carries no sign of the session), and even the anonymous pages are not public: each carries
    the visitor's own CSRF token and sets its cookie. Marking everything but the known public
    assets `no-store` cannot miss a personal page; the price is that browsers re-fetch a few small
    anonymous pages, which they would have to revalidate anyway.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        csp: str | Callable[[str], str],
        production: bool,
        referrer_policy: str = "no-referrer",
        cacheable: tuple[str, ...] = (),
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.csp = csp
        self.cacheable = cacheable
        common = {
            "x-content-type-options": "nosniff",
            "referrer-policy": referrer_policy,
            "x-frame-options": "DENY",
            "cross-origin-opener-policy": "same-origin",
            **{k.lower(): v for k, v in (extra or {}).items()},
        }
        if production:
            common["strict-transport-security"] = HSTS
        self.common = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in common.items()]

    def _policy(self, path: str) -> bytes:
        csp = self.csp if isinstance(self.csp, str) else self.csp(path)
        return csp.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        no_store = not path.startswith(self.cacheable) if self.cacheable else True
        extra = [(b"content-security-policy", self._policy(path)), *self.common]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if no_store:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
