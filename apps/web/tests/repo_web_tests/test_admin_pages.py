"""Admin: user search with keyset pages, role changes, deactivation; role checks."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_db.models import Role
from repo_domain.validation import SEARCH_QUERY_MAX
from repo_web_tests.helpers import location, log_in, make_user, post


def test_only_admins_reach_admin_pages(client: TestClient, db_engine: Engine) -> None:
    for role in ("learner", "author"):
        log_in(client, make_user(db_engine, role=role))
        assert client.get("/admin").status_code == 403
        assert client.get("/admin/users").status_code == 403
        assert post(client, "/admin/users/1", {"role": "admin"}).status_code == 403


def test_search_by_prefix_with_keyset_pages(client: TestClient, db_engine: Engine) -> None:
    admin = make_user(db_engine, role="admin")
    for n in range(30):
        make_user(db_engine, name=f"Zelda {n:02d}")
    make_user(db_engine, name="Other Person")
    log_in(client, admin)
    first = client.get("/admin/users", params={"q": "zel"})
    assert first.status_code == 200
    ids = [int(x) for x in re.findall(r'data-user-id="(\d+)"', first.text)]
    assert len(ids) == 25 and ids == sorted(ids)
    next_url = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_url is not None
    second = client.get(next_url.group(1).replace("&amp;", "&"))
    more = [int(x) for x in re.findall(r'data-user-id="(\d+)"', second.text)]
    assert len(more) == 5 and min(more) > max(ids)
    assert 'rel="next"' not in second.text
    assert "Other Person" not in first.text + second.text
    # Email prefix, case-insensitive; LIKE wildcards are literal.
    by_email = client.get("/admin/users", params={"q": admin.email[:12].upper()}).text
    assert f'data-user-id="{admin.id}"' in by_email
    assert "No users match." in client.get("/admin/users", params={"q": "%"}).text


def test_change_role_and_deactivate(client: TestClient, db_engine: Engine) -> None:
    admin = make_user(db_engine, role="admin")
    target = make_user(db_engine, name="Target Person")
    log_in(client, admin)
    back = "/admin/users?q=target"
    url = f"/admin/users/{target.id}"
    # The first post only asks for confirmation (a one-click role change or deactivation was
    # a rough edge of issue 20): nothing changes yet.
    confirm = post(client, url, {"role": "author", "back": back})
    assert confirm.status_code == 200
    assert "Role: Learner → <strong>Author</strong>" in confirm.text
    assert '<input type="hidden" name="confirm" value="1">' in confirm.text
    assert '<option value="learner" selected>' in client.get(back).text
    done = location(post(client, url, {"role": "author", "back": back, "confirm": "1"}))
    assert done == back + "&notice=user-changed"
    page = client.get(back).text
    assert '<option value="author" selected>' in page
    confirm = post(client, url, {"active": "0", "back": back})
    assert "they are logged out everywhere at once" in confirm.text
    assert "Active" in client.get(back).text and "Deactivated" not in client.get(back).text
    post(client, url, {"active": "0", "back": back, "confirm": "1"})
    assert "Deactivated" in client.get(back).text
    # The deactivated user's session no longer works.
    log_in(client, target)
    assert location(client.get("/dashboard")).startswith("/login")
    # Admins cannot lock themselves out, confirmed or not.
    log_in(client, admin)
    for confirmed in ({}, {"confirm": "1"}):
        response = post(
            client,
            f"/admin/users/{admin.id}",
            {"role": "learner", "back": "/admin/users", **confirmed},
        )
        assert "notice=self_lockout" in location(response)
    assert "Admin" in client.get("/admin").text


def test_the_user_page_shows_the_account_its_attempts_and_the_audit_log(
    client: TestClient, db_engine: Engine
) -> None:
    from repo_web_tests.helpers import make_assessment

    admin = make_user(db_engine, role="admin")
    target = make_user(db_engine, name="Paged Person")
    author = make_user(db_engine, role="author")
    assessment_id = make_assessment(db_engine, author, title="Seen on the user page")
    log_in(client, target)
    post(client, f"/assessments/{assessment_id}/start")
    log_in(client, admin)
    url = f"/admin/users/{target.id}"
    assert f'href="{url}"' in client.get("/admin/users", params={"q": "paged"}).text
    page = client.get(url).text
    assert "Paged Person" in page and target.email in page
    assert "Seen on the user page" in page and "In progress" in page
    assert "Nothing recorded yet." in page
    post(client, url, {"role": "author", "back": url, "confirm": "1"})
    page = client.get(url).text
    assert "<dd data-role>Author</dd>" in page
    event = page.split('data-action="user.updated"', 1)[1].split("</tr>", 1)[0]
    assert admin.email in event
    assert '<span class="muted">role:</span> learner' in event
    assert '<span class="muted">role:</span> author' in event
    # The whole log, with author actions too (make_assessment created one).
    log = client.get("/admin/audit").text
    assert 'data-action="user.updated"' in log and 'data-action="assessment.created"' in log
    assert client.get("/admin/users/999999").status_code == 404


def test_admin_index_links_statistics(client: TestClient, db_engine: Engine) -> None:
    from repo_web_tests.helpers import make_assessment

    author = make_user(db_engine, role="author")
    assessment_id = make_assessment(db_engine, author, title="Visible to admins")
    log_in(client, make_user(db_engine, role="admin"))
    html = client.get("/admin").text
    assert f'href="/manage/{assessment_id}/stats"' in html
    assert client.get(f"/manage/{assessment_id}/stats").status_code == 200


@pytest.mark.parametrize("q", ["zel\x00da", "z" * (SEARCH_QUERY_MAX + 1), "zel\x1bda"])
def test_a_search_the_domain_refuses_is_shown_next_to_the_box(
    client: TestClient, db_engine: Engine, q: str
) -> None:
    """A NUL in the search used to answer 500 on PostgreSQL."""
    log_in(client, make_user(db_engine, role=Role.ADMIN))
    response = client.get("/admin/users", params={"q": q})
    assert response.status_code == 422
    assert 'id="users-q-error"' in response.text and 'aria-invalid="true"' in response.text
    at_limit = client.get("/admin/users", params={"q": "z" * SEARCH_QUERY_MAX})
    assert at_limit.status_code == 200 and "No users match." in at_limit.text


def test_an_unknown_role_is_refused_by_the_domain(client: TestClient, db_engine: Engine) -> None:
    admin = make_user(db_engine, role=Role.ADMIN)
    target = make_user(db_engine, name="Target Person")
    log_in(client, admin)
    response = post(client, f"/admin/users/{target.id}", {"role": "root", "back": "/admin/users"})
    assert "notice=invalid_role" in location(response)
    page = client.get(location(response)).text
    assert "role is one of" in page
    assert f'<option value="{Role.LEARNER}" selected>' in page
