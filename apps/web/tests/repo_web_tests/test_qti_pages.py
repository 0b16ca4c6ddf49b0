"""QTI in the web UI: the upload form, the per-item report, refusals, the export link."""

from __future__ import annotations

import io
import zipfile

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from repo_db import unit_of_work
from repo_db.models import Assessment, Role
from repo_domain import qti
from repo_domain_tests.qti_files import BILLION_LAUGHS, padded_package, sample, sample_package
from repo_http import upload_limit
from repo_web.security import CSRF_FIELD
from repo_web_tests.helpers import csrf_token, log_in, make_user

MIB = 1024 * 1024


def upload(
    client: TestClient, name: str, data: bytes, *, token: str | None = None
) -> httpx.Response:
    return client.post(
        "/manage/import",
        data={CSRF_FIELD: token if token is not None else csrf_token(client)},
        files={"file": (name, data, "application/octet-stream")},
    )


def count(engine: Engine) -> int:
    with unit_of_work(bind=engine, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(Assessment)) or 0


def test_author_imports_a_package_and_sees_each_item(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    log_in(client, author)
    assert 'href="/manage/import"' in client.get("/manage").text
    form = client.get("/manage/import")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    # The form carries the cookie's token (a browser posts what the form holds).
    assert f'value="{csrf_token(client)}"' in form.text
    page = upload(client, "sample.zip", sample_package())
    assert page.status_code == 201, page.text
    assert "2 of 3 items imported" in page.text
    assert "unsupported interaction hotspotInteraction in item hotspot" in page.text
    assert "Imported</strong> as Free text" in page.text
    draft = page.text.split('href="/manage/', 1)[1].split('"', 1)[0]
    edit = client.get(f"/manage/{draft}")
    assert "You must stay with your luggage at all times." in edit.text
    assert f'href="/manage/{draft}/export"' in edit.text
    exported = client.get(f"/manage/{draft}/export")
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert {"imsmanifest.xml", "assessment.xml"} <= set(archive.namelist())


def test_refused_files_show_the_reason_and_store_nothing(
    client: TestClient, db_engine: Engine
) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    log_in(client, author)
    before = count(db_engine)
    bomb = upload(client, "bomb.xml", BILLION_LAUGHS)
    assert bomb.status_code == 422
    assert "bomb.xml was not imported" in bomb.text
    assert "declares or uses XML entities" in bomb.text and 'role="alert"' in bomb.text
    only_hotspot = upload(client, "hotspot.xml", sample("hotspot_v2p1.xml"))
    assert only_hotspot.status_code == 422 and "Nothing to import" in only_hotspot.text
    nothing = client.post("/manage/import", data={CSRF_FIELD: csrf_token(client)})
    assert nothing.status_code == 422 and "Choose a QTI file" in nothing.text
    assert count(db_engine) == before


def test_learners_and_forged_posts_are_refused(client: TestClient, db_engine: Engine) -> None:
    learner = make_user(db_engine)
    log_in(client, learner)
    assert client.get("/manage/import").status_code == 403
    assert upload(client, "c.xml", sample("choice_v3p0.xml")).status_code == 403
    author = make_user(db_engine, role=Role.AUTHOR)
    log_in(client, author)
    before = count(db_engine)
    # Without the CSRF token the upload is refused before it is read.
    assert upload(client, "c.xml", sample("choice_v3p0.xml"), token="wrong").status_code == 403
    assert count(db_engine) == before


def test_the_import_takes_packages_up_to_the_qti_limit_and_413s_above(
    client: TestClient, db_engine: Engine
) -> None:
    """The upload's body limit is the QTI file limit (4 MiB), above the web's 1 MiB."""
    author = make_user(db_engine, role=Role.AUTHOR)
    log_in(client, author)
    page = upload(client, "pictures.zip", padded_package(2 * MIB))
    assert page.status_code == 201, page.text[:500]
    assert "2 of 3 items imported" in page.text
    before = count(db_engine)
    refused = upload(client, "huge.zip", padded_package(5 * MIB))
    assert refused.status_code == 413
    assert f"larger than {upload_limit(qti.UPLOAD_MAX_BYTES)} bytes" in refused.text
    assert count(db_engine) == before
    # Every other form keeps the 1 MiB limit.
    big = client.post("/manage/new", data={CSRF_FIELD: csrf_token(client), "title": "x" * 2 * MIB})
    assert big.status_code == 413
