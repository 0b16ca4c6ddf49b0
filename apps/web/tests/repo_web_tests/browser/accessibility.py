"""axe-core audits for the browser journeys: `audit(page, name)` runs axe on the page as the
learner sees it now and fails the test with a readable list of every violation.

Pages seen with JavaScript off are audited as a copy. In a context created with
`java_script_enabled=False` Chromium fires no timers, and `axe.run` schedules its work with
`setTimeout`, so its promise never settles and `page.evaluate` waits forever (that, not the
Content-Security-Policy, was the journeys' 900 s hang: evaluation through the DevTools protocol is
not subject to the page's CSP). For such a page the audit takes its HTML, serves it at the same
URL to a JavaScript-enabled page of the same browser with the page's own scripts blocked (so the
DOM stays the one the JavaScript-off user saw, stylesheets and all), and runs axe there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page, Route

_AXE = Axe()

# With scripting off, the HTML parser keeps <noscript> content as elements; with it on, as text.
_SCRIPTING_ENABLED = """() => {
  const probe = document.createElement('div');
  probe.innerHTML = '<noscript><i></i></noscript>';
  return probe.firstChild.firstChild.nodeType === Node.TEXT_NODE;
}"""


@dataclass(frozen=True)
class AuditedPage:
    name: str
    url: str
    javascript: bool
    violations: int


AUDITED: list[AuditedPage] = []
"""Every audit of this test session, in order (the journeys report the count)."""


class AccessibilityViolations(AssertionError):
    """axe found violations on a page; the message lists each one."""


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and failing element: rule id, impact, target selector, help URL."""
    lines = []
    for violation in violations:
        for node in violation.get("nodes", []):
            target = " ".join(str(part) for part in node.get("target", []))
            lines.append(
                f"{violation['id']} ({violation.get('impact')}) at {target}: "
                f"{violation.get('help')} <{violation.get('helpUrl')}>"
            )
    return "\n".join(lines)


def _run_axe(page: Page) -> list[dict[str, Any]]:
    return list(_AXE.run(page).response["violations"])


def _run_axe_on_copy(page: Page) -> list[dict[str, Any]]:
    """axe on the page's current HTML, served at its URL to a scripting page (page scripts off)."""
    url = page.url.split("#", 1)[0]
    html = page.content()
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context(java_script_enabled=True, viewport=page.viewport_size)
    try:
        copy = context.new_page()

        def serve_copy(route: Route) -> None:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

        copy.route(lambda candidate: candidate.split("#", 1)[0] == url, serve_copy)
        copy.route("**/*.js", lambda route: route.abort())
        copy.goto(url)
        return _run_axe(copy)
    finally:
        context.close()


def audit(page: Page, name: str) -> None:
    """Fail unless axe-core finds no violation on `page` (WCAG 2.x A/AA and best practices)."""
    javascript = bool(page.evaluate(_SCRIPTING_ENABLED))
    violations = _run_axe(page) if javascript else _run_axe_on_copy(page)
    AUDITED.append(AuditedPage(name, page.url, javascript, len(violations)))
    if violations:
        raise AccessibilityViolations(
            f"axe-core: {len(violations)} violation(s) on {name} ({page.url}):\n"
            + describe(violations)
        )
