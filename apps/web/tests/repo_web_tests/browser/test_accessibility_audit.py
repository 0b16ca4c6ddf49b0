"""The journeys' axe-core audit can fail: a deliberately broken page, served at the app's own
origin (with its stylesheet and CSP-free), is caught with and without JavaScript, each violation
named with its rule, impact, element and help page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Route

from repo_web_tests.browser.accessibility import AccessibilityViolations, audit

BROKEN_PAGE = """<!doctype html>
<html><head><title>Broken</title><link rel="stylesheet" href="/static/css/site.css"></head>
<body><main><h1>Broken</h1>
<img src="/static/nothing.png" id="no-alt">
<form><input type="text" name="nameless" id="no-label"></form>
<p style="color:#bbb;background:#fff" id="faint">Faint text that is hard to read.</p>
</main></body></html>"""


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_audit_fails_on_a_broken_page(
    browser: Browser, browser_context_args: dict[str, Any], javascript: bool
) -> None:
    context = browser.new_context(**browser_context_args, java_script_enabled=javascript)
    page = context.new_page()

    def broken(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=BROKEN_PAGE)

    page.route("**/broken-for-axe", broken)
    page.goto("/broken-for-axe")
    with pytest.raises(AccessibilityViolations) as caught:
        audit(page, "deliberately-broken")
    message = str(caught.value)
    assert "html-has-lang (serious) at html" in message
    assert "image-alt (critical) at #no-alt" in message
    assert "label (critical) at #no-label" in message
    assert "color-contrast (serious) at #faint" in message
    assert "<https://dequeuniversity.com/rules/axe/" in message
    context.close()


def test_the_audit_passes_a_real_page(
    browser: Browser, browser_context_args: dict[str, Any]
) -> None:
    for javascript in (True, False):
        context = browser.new_context(**browser_context_args, java_script_enabled=javascript)
        page = context.new_page()
        page.goto("/login")
        audit(page, f"log-in ({'js' if javascript else 'no-js'})")
        context.close()
