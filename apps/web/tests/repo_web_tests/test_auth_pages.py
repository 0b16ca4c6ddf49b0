"""Sign up, log in/out, session cookie flags, CSRF, security headers, HTML error pages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from repo_db import unit_of_work
from repo_db.models import User
from repo_domain.validation import DISPLAY_NAME_MAX
from repo_web.security import CSRF_FIELD
from repo_web_tests.helpers import PASSWORD, csrf_token, location, log_in, make_user, post


def test_signup_creates_the_account_and_signs_it_in_with_a_strict_session_cookie(
    client: TestClient,
) -> None:
    page = client.get("/signup")
    assert page.status_code == 200
    assert '<label for="field-email">Email' in page.text
    response = post(
        client,
        "/signup",
        {"display_name": "Sam Learner", "email": "Sam@Example.test", "password": "long-enough"},
    )
    assert location(response) == "/dashboard?notice=welcome"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert any(h.startswith("device=") for h in response.headers.get_list("set-cookie"))
    dashboard = client.get("/dashboard?notice=welcome")
    assert dashboard.status_code == 200
    assert "Hello, Sam Learner" in dashboard.text
    assert "your account is ready and you are logged in" in dashboard.text
    # The same password logs in later, from another browser.
    client.cookies.clear()
    response = post(client, "/login", {"email": "sam@example.test", "password": "long-enough"})
    assert location(response) == "/dashboard"


def test_signup_with_a_taken_email_gets_the_hedged_answer_and_no_session(
    client: TestClient, db_engine: Engine
) -> None:
    taken, other = make_user(db_engine), make_user(db_engine)
    attempt = {"display_name": "New", "password": "long-enough"}
    first = post(client, "/signup", {**attempt, "email": taken.email.upper()})
    second = post(client, "/signup", {**attempt, "email": other.email})
    # Any taken address gets the same answer, byte for byte, and no session.
    assert (first.status_code, first.headers["location"], first.content) == (
        second.status_code,
        second.headers["location"],
        second.content,
    )
    assert location(first) == "/login?registered=1"
    for response in (first, second):
        cookies = response.headers.get_list("set-cookie")
        assert not any(h.startswith(("session=", "device=")) for h in cookies)
    notice = client.get("/login?registered=1").text
    assert "the account now exists" in notice
    assert "taken" not in notice and "already" not in notice
    assert client.get("/dashboard").status_code == 303
    # The taken account keeps its own password.
    assert location(post(client, "/login", {"email": taken.email, "password": PASSWORD}))
    client.cookies.delete("session")
    wrong = post(client, "/login", {"email": taken.email, "password": "long-enough"})
    assert wrong.status_code == 422


def test_signup_errors_are_shown_next_to_their_fields(
    client: TestClient, db_engine: Engine
) -> None:
    taken = make_user(db_engine)
    response = post(
        client, "/signup", {"display_name": "", "email": taken.email, "password": "short"}
    )
    assert response.status_code == 422
    html = response.text
    assert 'id="field-display_name-error"' in html and "This field is required." in html
    assert 'id="field-password-error"' in html and "at least 8 characters" in html
    assert 'aria-invalid="true"' in html
    # The first field in error gets focus; the summary links to each field.
    assert 'href="#field-display_name"' in html
    response = post(
        client, "/signup", {"display_name": "X", "email": "x@example.test", "password": "x" * 12}
    )
    assert response.status_code == 422  # repo_domain's password policy: repetitive
    assert 'id="field-password-error"' in response.text
    assert "already exists" not in response.text


def test_login_wrong_password_then_right_then_logout(client: TestClient, db_engine: Engine) -> None:
    user = make_user(db_engine)
    wrong = post(client, "/login", {"email": user.email, "password": "nope-nope"})
    assert wrong.status_code == 422
    assert "Wrong email or password." in wrong.text
    assert f'value="{user.email}"' in wrong.text
    before = csrf_token(client)
    ok = post(
        client, "/login", {"email": user.email.upper(), "password": PASSWORD, "next": "/manage"}
    )
    assert location(ok) == "/manage"
    assert csrf_token(client) != before  # rotated at login
    assert client.get("/dashboard").status_code == 200
    assert location(post(client, "/logout")) == "/"
    client.cookies.delete("session")
    assert location(client.get("/dashboard")).startswith("/login?next=/dashboard")


def test_login_never_redirects_off_site(client: TestClient, db_engine: Engine) -> None:
    user = make_user(db_engine)
    response = post(
        client, "/login", {"email": user.email, "password": PASSWORD, "next": "//evil.test/x"}
    )
    assert location(response) == "/dashboard"


def test_logout_revokes_the_session_token(client: TestClient, db_engine: Engine) -> None:
    user = make_user(db_engine)
    log_in(client, user)
    assert client.get("/dashboard").status_code == 200
    assert location(post(client, "/logout")) == "/"
    log_in(client, user)  # replaying the old cookie does not work
    assert client.get("/dashboard").status_code == 303


def test_posts_without_or_with_a_wrong_csrf_token_get_403(
    client: TestClient, db_engine: Engine
) -> None:
    user = make_user(db_engine)
    csrf_token(client)
    no_token = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert no_token.status_code == 403
    assert "text/html" in no_token.headers["content-type"]
    assert "Not allowed" in no_token.text
    wrong = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, CSRF_FIELD: "forged"}
    )
    assert wrong.status_code == 403
    log_in(client, user)
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", data={CSRF_FIELD: "x" * 43}).status_code == 403
    # Still logged in: the forged logout changed nothing.
    assert client.get("/dashboard").status_code == 200


def test_forms_carry_the_csrf_token_of_the_cookie(client: TestClient) -> None:
    page = client.get("/login")
    token = client.cookies["csrftoken"]
    assert f'name="{CSRF_FIELD}" value="{token}"' in page.text


def test_every_response_has_security_headers(client: TestClient) -> None:
    for url in ("/", "/login", "/no-such-page", "/static/css/site.css"):
        response = client.get(url)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


def test_pages_include_the_stylesheet_and_the_module_script(client: TestClient) -> None:
    html = client.get("/login").text
    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    assert '<script type="module" src="/static/js/app.js"></script>' in html
    css = client.get("/static/css/site.css")
    assert css.status_code == 200 and "@media" in css.text


def test_pages_name_a_favicon_that_is_served(client: TestClient) -> None:
    html = client.get("/login").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")


def test_unknown_pages_get_an_html_404(client: TestClient) -> None:
    response = client.get("/assessments/not-a-number/x")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"display_name": "Sam\x00"}, "display_name"),
        ({"display_name": "S" * (DISPLAY_NAME_MAX + 1)}, "display_name"),
        ({"email": "sam\x00@example.test"}, "email"),
        ({"email": "s" * 5_000 + "@example.test"}, "email"),
        ({"password": "long-enough\x00"}, "password"),
        ({"password": "p" * 5_000}, "password"),
    ],
)
def test_signup_with_nul_or_oversized_input_is_a_form_error(
    client: TestClient, db_engine: Engine, changes: dict[str, str], field: str
) -> None:
    """A NUL used to reach PostgreSQL (a 500 there): the domain refuses it, next to the field."""
    form = {
        "display_name": "Sam",
        "email": "sam@example.test",
        "password": "long-enough",
        **changes,
    }
    response = post(client, "/signup", form)
    assert response.status_code == 422, response.text[:300]
    assert f'id="field-{field}-error"' in response.text
    with unit_of_work(read_only=True, bind=db_engine) as session:
        assert session.scalar(select(User.id)) is None


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("sam\x00@example.test", "long-enough", "email"),
        ("s" * 5_000 + "@example.test", "long-enough", "email"),
        ("sam@example.test", "long-\x00enough", "password"),
        ("sam@example.test", "p" * 5_000, "password"),
    ],
)
def test_login_with_nul_or_oversized_input_is_a_form_error(
    client: TestClient, email: str, password: str, field: str
) -> None:
    response = post(client, "/login", {"email": email, "password": password})
    assert response.status_code == 422, response.text[:300]
    assert f'id="field-{field}-error"' in response.text


def test_a_password_is_used_exactly_as_typed(client: TestClient) -> None:
    """Spaces belong to the password (the web used to trim them, the API did not)."""
    form = {"display_name": "Sam", "email": "sam@example.test", "password": "  spaced pass  "}
    assert location(post(client, "/signup", form)) == "/dashboard?notice=welcome"
    client.cookies.delete("session")
    trimmed = post(client, "/login", {"email": "sam@example.test", "password": "spaced pass"})
    assert "Wrong email or password." in trimmed.text
    exact = post(client, "/login", {"email": "sam@example.test", "password": "  spaced pass  "})
    assert location(exact) == "/dashboard"
