"""Notices are codes: a page shows the fixed sentence of a known code and nothing of any other
text in the URL (a phishing line in the product's voice was possible before)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_db.models import Role
from repo_web.notices import SENTENCES, Notice, notice_text
from repo_web_tests.helpers import location, log_in, make_assessment, make_user, post

PHISHING = "Session expired. Re-enter your password at https://evil.example/login"


def test_every_code_has_a_sentence_and_other_text_has_none() -> None:
    assert set(SENTENCES) == set(Notice)
    for code in Notice:
        assert notice_text(str(code)) == SENTENCES[code]
    for other in (None, "", PHISHING, "SAVED", "saved ", "<b>saved</b>"):
        assert notice_text(other) is None


def _pages(client: TestClient, db_engine: Engine) -> list[str]:
    """An admin page and an author page that both show notices (an admin may manage any)."""
    admin = make_user(db_engine, role=Role.ADMIN)
    assessment_id = make_assessment(db_engine, admin, title="Noticed")
    log_in(client, admin)
    return ["/admin/users", f"/manage/{assessment_id}"]


def test_text_from_the_url_never_becomes_a_notice(client: TestClient, db_engine: Engine) -> None:
    for page in _pages(client, db_engine):
        response = client.get(page, params={"notice": PHISHING})
        assert response.status_code == 200
        assert "evil.example" not in response.text and "Session expired" not in response.text


@pytest.mark.parametrize("code", list(Notice))
def test_each_code_renders_its_sentence(
    client: TestClient, db_engine: Engine, code: Notice
) -> None:
    for page in _pages(client, db_engine):
        assert SENTENCES[code] in client.get(page, params={"notice": code}).text


def test_a_refused_admin_change_redirects_with_the_domain_code(
    client: TestClient, db_engine: Engine
) -> None:
    admin = make_user(db_engine, role=Role.ADMIN)
    log_in(client, admin)
    response = post(
        client, f"/admin/users/{admin.id}", {"role": Role.LEARNER, "back": "/admin/users"}
    )
    assert location(response) == f"/admin/users?notice={Notice.SELF_LOCKOUT}"
    assert SENTENCES[Notice.SELF_LOCKOUT] in client.get(location(response)).text
