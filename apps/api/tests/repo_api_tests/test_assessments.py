"""Authoring, publish/archive, visibility and access rules, catalogue pagination and search."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_api_tests.helpers import assert_error, create_assessment, make_user, sample_questions


def test_author_creates_edits_publishes_archives(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    draft = create_assessment(client, author, publish=False, pass_percent=50)
    assert draft["status"] == "draft" and draft["author_id"] == author.id
    assert [q["kind"] for q in draft["questions"]] == [
        "single_choice",
        "multiple_choice",
        "numeric",
        "free_text",
    ]
    assert [o["is_correct"] for o in draft["questions"][0]["options"]] == [False, True, False]
    url = f"/assessments/{draft['id']}"

    edited = client.patch(url, json={"title": "Renamed"}, headers=author.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == "Renamed" and edited.json()["questions"] == draft["questions"]
    for question in draft["questions"][2:]:
        deleted = client.delete(f"{url}/questions/{question['id']}", headers=author.headers)
        assert deleted.status_code == 200, deleted.text
    assert len(deleted.json()["questions"]) == 2
    # One way to edit questions: PATCH no longer takes a replacement list (it used to).
    assert_error(
        client.patch(url, json={"questions": sample_questions()}, headers=author.headers),
        422,
        "validation_error",
    )

    published = client.post(f"{url}/publish", headers=author.headers)
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert published.json()["published_at"] is not None
    assert_error(client.post(f"{url}/publish", headers=author.headers), 409, "not_draft")
    # Settings that score are frozen once published; a question can be corrected into a new
    # version (test_question_versions), and the same content makes none.
    first = published.json()["questions"][0]["id"]
    same = client.put(
        f"{url}/questions/{first}", json=sample_questions()[0], headers=author.headers
    )
    assert same.status_code == 200 and same.json()["questions"][0]["version"] == 1
    assert_error(client.patch(url, json={"pass_percent": 10}, headers=author.headers), 409)
    assert client.patch(url, json={"description": "typo fix"}, headers=author.headers).is_success

    archived = client.post(f"{url}/archive", headers=author.headers)
    assert archived.json()["status"] == "archived"
    assert_error(client.post(f"{url}/archive", headers=author.headers), 409, "archived")
    assert_error(client.patch(url, json={"title": "x"}, headers=author.headers), 409, "archived")
    assert_error(
        client.put(f"{url}/questions/{first}", json=sample_questions()[0], headers=author.headers),
        409,
        "archived",
    )


def test_publish_requires_questions(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    empty = create_assessment(client, author, questions=[], publish=False)
    response = client.post(f"/assessments/{empty['id']}/publish", headers=author.headers)
    assert_error(response, 422, "no_questions")


def test_question_validation(client: TestClient, db_engine: Engine) -> None:
    """The domain decides (422 naming the field); the schema only refuses a wrong shape."""
    author = make_user(db_engine, role="author")
    bad_questions: list[tuple[dict[str, Any], str]] = [
        (
            {
                "kind": "single_choice",
                "prompt": "?",
                "options": [{"text": "a", "is_correct": True}],
            },
            "options",
        ),
        (
            {
                "kind": "single_choice",
                "prompt": "?",
                "options": [{"text": "a", "is_correct": True}, {"text": "b", "is_correct": True}],
            },
            "options",
        ),
        (
            {"kind": "multiple_choice", "prompt": "?", "options": [{"text": "a"}, {"text": "b"}]},
            "options",
        ),
        ({"kind": "numeric", "prompt": "?"}, "numeric_answer"),
        ({"kind": "free_text", "prompt": "?", "options": [{"text": "a"}]}, "options"),
        ({"kind": "numeric", "prompt": "?", "numeric_answer": 1, "points": -1}, "points"),
        ({"kind": "numeric", "prompt": "", "numeric_answer": 1}, "prompt"),
    ]
    for question, field in bad_questions:
        response = client.post(
            "/assessments", json={"title": "T", "questions": [question]}, headers=author.headers
        )
        error = assert_error(response, 422)
        assert error["field"] == f"questions[0].{field}", error
    unknown_kind = {"title": "T", "questions": [{"kind": "essay", "prompt": "?"}]}
    response = client.post("/assessments", json=unknown_kind, headers=author.headers)
    assert_error(response, 422, "validation_error")


def test_only_authors_and_admins_create(client: TestClient, db_engine: Engine) -> None:
    learner = make_user(db_engine)
    body = {"title": "Nope", "questions": sample_questions()}
    assert_error(client.post("/assessments", json=body), 401)
    assert_error(client.post("/assessments", json=body, headers=learner.headers), 403)
    admin = make_user(db_engine, role="admin")
    assert client.post("/assessments", json=body, headers=admin.headers).status_code == 201


def test_draft_visibility_and_management_rules(client: TestClient, db_engine: Engine) -> None:
    owner = make_user(db_engine, role="author")
    other_author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    admin = make_user(db_engine, role="admin")
    draft = create_assessment(client, owner, publish=False)
    url = f"/assessments/{draft['id']}"

    # Drafts are invisible (404) to everyone but their managers.
    for stranger in (learner, other_author):
        assert_error(client.get(url, headers=stranger.headers), 404)
        assert_error(client.get(f"{url}/full", headers=stranger.headers), 404)
        assert_error(client.patch(url, json={"title": "x"}, headers=stranger.headers), 404)
        assert_error(client.post(f"{url}/publish", headers=stranger.headers), 404)
    for manager in (owner, admin):
        assert client.get(url, headers=manager.headers).status_code == 200
        assert client.get(f"{url}/full", headers=manager.headers).status_code == 200

    assert client.patch(url, json={"title": "By admin"}, headers=admin.headers).is_success
    assert client.post(f"{url}/publish", headers=owner.headers).is_success

    # Published: everyone reads the taker view; only managers see answers or change it.
    public = client.get(url, headers=learner.headers)
    assert public.status_code == 200 and public.json()["title"] == "By admin"
    assert "is_correct" not in public.text and "numeric_answer" not in public.text
    assert "reference_answer" not in public.text
    for stranger in (learner, other_author):
        assert_error(client.get(f"{url}/full", headers=stranger.headers), 403)
        assert_error(client.patch(url, json={"title": "x"}, headers=stranger.headers), 403)
        assert_error(client.post(f"{url}/archive", headers=stranger.headers), 403)
    assert_error(client.get(url), 401)
    assert_error(client.get("/assessments/987654321", headers=learner.headers), 404)
    assert client.post(f"{url}/archive", headers=admin.headers).json()["status"] == "archived"
    assert_error(client.get(url, headers=learner.headers), 404)


def test_catalogue_keyset_pagination_and_search(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    learner = make_user(db_engine)
    one = [{"kind": "numeric", "prompt": "?", "numeric_answer": 1}]
    ids = [
        create_assessment(client, author, title=f"Algebra {i}", questions=one)["id"]
        for i in range(5)
    ]
    create_assessment(client, author, title="Algebra draft", questions=one, publish=False)
    archived = create_assessment(client, author, title="Algebra old", questions=one)
    client.post(f"/assessments/{archived['id']}/archive", headers=author.headers)
    create_assessment(client, author, title="Geometry 100%", questions=one)

    seen: list[int] = []
    after: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, "q": "algebra"}
        if after is not None:
            params["after"] = after
        page = client.get("/assessments", params=params, headers=learner.headers).json()
        seen.extend(item["id"] for item in page["items"])
        assert all(item["status"] == "published" for item in page["items"])
        after = page["next_after"]
        if after is None:
            break
    assert seen == ids  # drafts and archived ones never appear; order is stable by id

    hit = client.get("/assessments", params={"q": "100%"}, headers=learner.headers).json()
    assert [a["title"] for a in hit["items"]] == ["Geometry 100%"]
    deep = client.get("/assessments", params={"after": ids[-1]}, headers=learner.headers).json()
    assert [a["title"] for a in deep["items"]] == ["Geometry 100%"]
    assert deep["next_after"] is None
    assert_error(client.get("/assessments", params={"limit": 10_000}, headers=learner.headers), 422)
    assert_error(client.get("/assessments"), 401)


def test_mine_lists_own_for_authors_all_for_admins(client: TestClient, db_engine: Engine) -> None:
    first = make_user(db_engine, role="author")
    second = make_user(db_engine, role="author")
    admin = make_user(db_engine, role="admin")
    learner = make_user(db_engine)
    a = create_assessment(client, first, publish=False)["id"]
    b = create_assessment(client, second)["id"]

    def ids(user: Any, **params: Any) -> list[int]:
        response = client.get("/assessments/mine", params=params, headers=user.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(first) == [a]
    assert ids(second) == [b]
    assert ids(admin) == [a, b]
    assert ids(admin, status="draft") == [a]
    assert_error(client.get("/assessments/mine", headers=learner.headers), 403)
