"""Jinja2 environment (package templates, autoescaped) and the page renderer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from repo_db import models
from repo_domain.attempts import StartAction
from repo_web.policy import SHOW_ANSWERS_LABELS, policy_text
from repo_web.security import CSRF_FIELD

templates = Environment(
    loader=PackageLoader("repo_web", "templates"),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}%"


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def sentence(message: str) -> str:
    """A domain message ("this attempt belongs to another user", lowercase and unpunctuated
    because the API returns it as data) as a sentence for a page: capitalised, with a full stop."""
    text = message.strip()
    if not text:
        return text
    return text[:1].upper() + text[1:] + ("" if text[-1] in ".!?" else ".")


templates.filters.update(iso=_iso, when=_when, percent=_percent, points=_points, sentence=sentence)
templates.globals.update(
    show_answers_labels=SHOW_ANSWERS_LABELS, policy_text=policy_text, StartAction=StartAction
)
# The closed vocabularies, so templates compare with members (`q.kind == QuestionKind.NUMERIC`)
# instead of spelling values: a typo is then an error, not a silently false comparison.
templates.globals.update(
    {
        name: getattr(models, name)
        for name in (
            "AssessmentStatus",
            "AttemptStatus",
            "GradingStatus",
            "QuestionKind",
            "Role",
            "ShowAnswers",
        )
    }
)


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    ctx = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "csrf_field": CSRF_FIELD,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        **context,
    }
    html = templates.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
