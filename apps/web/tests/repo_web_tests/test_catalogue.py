from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from repo_db.models import Assessment, User, metadata
from repo_web.catalogue import render_catalogue


def test_catalogue_lists_only_published_assessments_escaped() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as session:
        author = User(email="au@example.com", password_hash="x", display_name="Au", role="author")
        session.add(author)
        session.flush()
        session.add_all(
            [
                Assessment(author_id=author.id, title="<b>Algebra</b>", status="published"),
                Assessment(author_id=author.id, title="Secret draft", status="draft"),
            ]
        )
        session.flush()
        html = render_catalogue(session)
    assert "&lt;b&gt;Algebra&lt;/b&gt;" in html
    assert "Secret draft" not in html


def test_empty_catalogue_says_so() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as session:
        assert "No published assessments yet." in render_catalogue(session)
