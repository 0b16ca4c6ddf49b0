"""The public catalogue page: published assessments, newest first."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from repo_db.models import Assessment

PAGE_SIZE = 20

templates = Environment(
    loader=PackageLoader("repo_web", "templates"), autoescape=select_autoescape(["html"])
)


def published_assessments(session: Session, *, limit: int = PAGE_SIZE) -> list[Assessment]:
    query = (
        select(Assessment)
        .where(Assessment.status == "published")
        .order_by(Assessment.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def render_catalogue(session: Session) -> str:
    return templates.get_template("catalogue.html").render(
        assessments=published_assessments(session)
    )
