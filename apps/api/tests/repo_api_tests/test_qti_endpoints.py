"""QTI through the API: an upload becomes a draft with a per-item report, the export is a zip
that imports back equal, refused files answer 4xx and store nothing, and who may do what."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from repo_api_tests.helpers import assert_error, make_user
from repo_db import unit_of_work
from repo_db.models import Assessment
from repo_domain import qti
from repo_domain_tests.qti_files import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    WRONG_NAMESPACE,
    padded_package,
    sample,
    sample_package,
    zip_bomb,
    zip_of,
)
from repo_http import upload_limit

MIB = 1024 * 1024
CONTENT_KEYS = ("kind", "prompt", "points", "numeric_answer", "numeric_tolerance",
                "reference_answer", "rubric_keywords")  # fmt: skip


def upload(client: TestClient, headers: dict[str, str], name: str, data: bytes) -> Any:
    return client.post(
        "/assessments/import",
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
    )


def content(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **{k: q[k] for k in CONTENT_KEYS},
            "options": [(o["text"], o["is_correct"]) for o in q["options"]],
        }
        for q in view["questions"]
    ]


def assessment_count(engine: Engine) -> int:
    with unit_of_work(bind=engine, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(Assessment)) or 0


def test_a_package_imports_as_a_draft_with_a_report(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    response = upload(client, author.headers, "sample.zip", sample_package())
    assert response.status_code == 201, response.text
    body = response.json()
    draft = body["assessment"]
    assert draft["status"] == "draft" and draft["title"] == "Sample QTI 2.1 test"
    assert [(i["source"], i["imported"], i["kind"]) for i in body["items"]] == [
        ("items/text_entry_v2p1.xml", True, "free_text"),
        ("items/choice_v2p1.xml", True, "single_choice"),
        ("items/hotspot_v2p1.xml", False, None),
    ]
    assert body["items"][2]["message"] == (
        "unsupported interaction hotspotInteraction in item hotspot"
    )
    questions = content(draft)
    assert questions[1]["options"][0] == ("You must stay with your luggage at all times.", True)
    assert questions[0]["reference_answer"] == "York"


def test_the_export_imports_back_equal(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    first = upload(client, author.headers, "n.xml", sample("numeric_v2p1.xml")).json()["assessment"]
    exported = client.get(f"/assessments/{first['id']}/export", headers=author.headers)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "application/zip"
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="boiling-point-{first["id"]}-qti.zip"'
    )
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert "imsmanifest.xml" in archive.namelist()
    again = upload(client, author.headers, "back.zip", exported.content)
    assert again.status_code == 201, again.text
    second = again.json()["assessment"]
    assert second["id"] != first["id"] and second["title"] == first["title"]
    assert content(second) == content(first)
    assert content(first)[0]["numeric_tolerance"] == 0.5 and content(first)[0]["points"] == 2.0


def test_the_export_carries_the_settings(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role="author")
    first = upload(client, author.headers, "n.xml", sample("numeric_v2p1.xml")).json()["assessment"]
    settings = {
        "time_limit_seconds": 1500,
        "pass_percent": 75.0,
        "max_attempts": 2,
        "show_answers": "after_close",
        "closes_at": "2031-05-04T12:30:00Z",
        "adaptive_min_length": 1,
    }
    changed = client.patch(f"/assessments/{first['id']}", json=settings, headers=author.headers)
    assert changed.status_code == 200, changed.text
    exported = client.get(f"/assessments/{first['id']}/export", headers=author.headers)
    second = upload(client, author.headers, "back.zip", exported.content).json()["assessment"]
    assert {k: second[k] for k in settings} == {k: changed.json()[k] for k in settings}
    assert {k: second[k] for k in settings if k != "closes_at"} == {
        k: v for k, v in settings.items() if k != "closes_at"
    }


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("bomb.xml", BILLION_LAUGHS, "xml_entities"),
        ("xxe.xml", EXTERNAL_ENTITY, "xml_entities"),
        ("other.xml", WRONG_NAMESPACE, "wrong_namespace"),
        ("notes.txt", b"hello", "not_xml"),
        ("bomb.zip", zip_bomb(), "too_large"),
        ("evil.zip", zip_of({"../evil.xml": b"<a/>"}), "unsafe_path"),
        ("hotspot.xml", sample("hotspot_v2p1.xml"), "nothing_to_import"),
    ],
)
def test_refused_files_answer_422_and_store_nothing(
    client: TestClient, db_engine: Engine, name: str, data: bytes, code: str
) -> None:
    author = make_user(db_engine, role="author")
    before = assessment_count(db_engine)
    error = assert_error(upload(client, author.headers, name, data), 422, code)
    assert error["message"]
    assert assessment_count(db_engine) == before


def test_the_import_takes_packages_up_to_the_qti_limit_and_413s_above(
    client: TestClient, db_engine: Engine
) -> None:
    """The import route's body limit is the QTI file limit (4 MiB), above the API's 1 MiB."""
    author = make_user(db_engine, role="author")
    two_mib = padded_package(2 * MIB)
    assert len(two_mib) > 2 * MIB - 1024
    response = upload(client, author.headers, "pictures.zip", two_mib)
    assert response.status_code == 201, response.text
    assert len(response.json()["assessment"]["questions"]) == 2
    before = assessment_count(db_engine)
    error = assert_error(upload(client, author.headers, "huge.zip", padded_package(5 * MIB)), 413)
    assert f"larger than {upload_limit(qti.UPLOAD_MAX_BYTES)} bytes" in error["message"]
    assert assessment_count(db_engine) == before
    # Every other route keeps the 1 MiB limit.
    big = {"title": "x" * (2 * MIB)}
    assert_error(client.post("/assessments", json=big, headers=author.headers), 413)


def test_who_may_import_and_export(client: TestClient, db_engine: Engine) -> None:
    author, other = make_user(db_engine, role="author"), make_user(db_engine, role="author")
    learner, admin = make_user(db_engine), make_user(db_engine, role="admin")
    assert_error(upload(client, learner.headers, "c.xml", sample("choice_v3p0.xml")), 403)
    assert_error(upload(client, {}, "c.xml", sample("choice_v3p0.xml")), 401)
    draft = upload(client, author.headers, "c.xml", sample("choice_v3p0.xml")).json()["assessment"]
    url = f"/assessments/{draft['id']}/export"
    assert_error(client.get(url, headers=other.headers), 404)  # a draft: invisible to others
    assert_error(client.get(url, headers=learner.headers), 404)
    assert client.get(url, headers=admin.headers).status_code == 200
    assert_error(client.get("/assessments/999999/export", headers=author.headers), 404)
