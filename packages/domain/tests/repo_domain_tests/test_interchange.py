"""QTI import and export commands on SQLite and PostgreSQL: who may, what the draft holds, and
that a refused file leaves nothing behind."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from repo_db import unit_of_work
from repo_db.models import Assessment, AssessmentStatus, Question, Role
from repo_db.testing import truncate_all
from repo_domain import assessments, interchange, qti
from repo_domain.errors import Forbidden, InvalidInput, NotFound
from repo_domain.questions import QuestionSpec
from repo_domain_tests.factories import make_actor
from repo_domain_tests.qti_files import BILLION_LAUGHS, sample, sample_package, zip_of


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    try:
        yield db_engine
    finally:
        truncate_all(db_engine)


def rows(engine: Engine) -> tuple[int, int]:
    with unit_of_work(bind=engine, read_only=True) as session:
        return (
            session.scalar(select(func.count()).select_from(Assessment)) or 0,
            session.scalar(select(func.count()).select_from(Question)) or 0,
        )


def specs_of(engine: Engine, assessment_id: int) -> list[QuestionSpec]:
    with unit_of_work(bind=engine, read_only=True) as session:
        assessment = session.get(Assessment, assessment_id)
        assert assessment is not None
        view = assessments.load_view(session, assessment=assessment)
        return [QuestionSpec.from_model(q, view.options[q.id]) for q in view.questions]


def test_a_package_becomes_a_draft_with_its_supported_items(engine: Engine) -> None:
    author = make_actor(engine, Role.AUTHOR)
    with unit_of_work(bind=engine) as session:
        result = interchange.import_qti(
            session, actor=author, filename="sample.zip", data=sample_package()
        )
        assessment_id = result.assessment.id
        assert result.assessment.status == AssessmentStatus.DRAFT
        assert result.assessment.author_id == author.id
        assert result.assessment.title == "Sample QTI 2.1 test"
    # Two imported in the test's order; the hotspot is in the report, not in the draft.
    assert [i.imported for i in result.report.items] == [True, True, False]
    assert specs_of(engine, assessment_id) == result.report.specs
    assert [s.kind for s in specs_of(engine, assessment_id)] == ["free_text", "single_choice"]


def test_the_export_imports_back_equal(engine: Engine) -> None:
    author = make_actor(engine, Role.AUTHOR)
    with unit_of_work(bind=engine) as session:
        first = interchange.import_qti(
            session, actor=author, filename="m.xml", data=sample("choice_multiple_v2p1.xml")
        ).assessment.id
    with unit_of_work(bind=engine) as session:
        assessments.update_assessment(
            session, actor=author, assessment_id=first, time_limit_seconds=900
        )
    with unit_of_work(bind=engine) as session:
        exported = interchange.export_qti(session, actor=author, assessment_id=first)
    assert exported.filename == f"composition-of-water-{first}-qti.zip"
    with unit_of_work(bind=engine) as session:
        second = interchange.import_qti(
            session, actor=author, filename=exported.filename, data=exported.content
        ).assessment
        assert (second.title, second.time_limit_seconds) == ("Composition of Water", 900)
        second_id = second.id
    assert specs_of(engine, second_id) == specs_of(engine, first)
    assert specs_of(engine, first)[0].points == 2.0


def test_only_authors_import_and_only_managers_export(engine: Engine) -> None:
    author, other = make_actor(engine, Role.AUTHOR), make_actor(engine, Role.AUTHOR)
    learner, admin = make_actor(engine, Role.LEARNER), make_actor(engine, Role.ADMIN)
    with unit_of_work(bind=engine) as session, pytest.raises(Forbidden):
        interchange.import_qti(
            session, actor=learner, filename="c.xml", data=sample("choice_v3p0.xml")
        )
    with unit_of_work(bind=engine) as session:
        draft = interchange.import_qti(
            session, actor=author, filename="c.xml", data=sample("choice_v3p0.xml")
        ).assessment.id
    # Another author cannot even see the draft (404, as for editing); an admin may export it.
    with unit_of_work(bind=engine) as session, pytest.raises(NotFound):
        interchange.export_qti(session, actor=other, assessment_id=draft)
    with unit_of_work(bind=engine) as session:
        assert interchange.export_qti(session, actor=admin, assessment_id=draft).content


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("bomb.xml", BILLION_LAUGHS, "xml_entities"),
        ("hotspot.xml", sample("hotspot_v2p1.xml"), "nothing_to_import"),
        ("empty.xml", b"", "required"),
    ],
)
def test_refused_files_change_nothing(engine: Engine, name: str, data: bytes, code: str) -> None:
    author = make_actor(engine, Role.AUTHOR)
    before = rows(engine)
    with unit_of_work(bind=engine) as session, pytest.raises(InvalidInput) as info:
        interchange.import_qti(session, actor=author, filename=name, data=data)
    assert info.value.code == code
    assert rows(engine) == before
    if code == "nothing_to_import":  # the reason is named, item by item
        assert "unsupported interaction hotspotInteraction in item hotspot" in info.value.message


def test_limits_are_the_domain_limits() -> None:
    # The upload limit sits above the apps' default request-body limit (1 MiB), so the body limit
    # is the one a client meets first; this fails if the two are made to disagree the other way.
    assert qti.UPLOAD_MAX_BYTES >= 1024 * 1024


SETTING_COLUMNS = (
    "time_limit_seconds", "pass_percent", "max_attempts", "show_answers", "closes_at", "adaptive",
    "adaptive_target_se", "adaptive_min_length", "adaptive_max_length", "adaptive_max_exposure",
)  # fmt: skip


def settings_of(engine: Engine, assessment_id: int) -> dict[str, object]:
    with unit_of_work(bind=engine, read_only=True) as session:
        assessment = session.get(Assessment, assessment_id)
        assert assessment is not None
        return {column: getattr(assessment, column) for column in SETTING_COLUMNS}


@pytest.mark.parametrize(
    "settings",
    [
        {
            "pass_percent": 72.5,
            "max_attempts": 3,
            "show_answers": "after_close",
            "closes_at": datetime(2031, 5, 4, 12, 30, tzinfo=UTC),
        },
        {
            "pass_percent": 50.0,
            "max_attempts": None,
            "show_answers": "never",
            "adaptive_min_length": 2,  # kept for when it becomes adaptive
        },
        {
            "pass_percent": 80.0,
            "max_attempts": 1,
            "show_answers": "after_last_attempt",
            "adaptive": True,
            "adaptive_target_se": 0.35,
            "adaptive_min_length": 2,
            "adaptive_max_length": 3,
            "adaptive_max_exposure": 0.4,
        },
    ],
    ids=["limited", "unlimited", "adaptive"],
)
def test_the_export_carries_the_settings_and_imports_back_equal(
    engine: Engine, settings: dict[str, Any]
) -> None:
    author = make_actor(engine, Role.AUTHOR)
    with unit_of_work(bind=engine) as session:
        first = interchange.import_qti(
            session, actor=author, filename="sample.zip", data=sample_package()
        ).assessment.id
    settings = dict(settings)  # the parameter is shared by the SQLite and PostgreSQL runs
    adaptive = {k: settings.pop(k) for k in ("adaptive", "adaptive_target_se") if k in settings}
    with unit_of_work(bind=engine) as session:
        assessments.update_assessment(
            session, actor=author, assessment_id=first, time_limit_seconds=1200, **settings
        )
        # Whether a test is adaptive, and its target, are set when it is created.
        session.execute(update(Assessment).where(Assessment.id == first).values(**adaptive))
    before = settings_of(engine, first)
    wanted = {**settings, **adaptive}
    if isinstance(before["closes_at"], datetime):  # SQLite hands it back without the zone
        assert before["closes_at"].replace(tzinfo=UTC) == wanted.pop("closes_at")
    assert {k: before[k] for k in wanted} == wanted  # every setting took
    with unit_of_work(bind=engine) as session:
        exported = interchange.export_qti(session, actor=author, assessment_id=first)
    with unit_of_work(bind=engine) as session:
        second = interchange.import_qti(
            session, actor=author, filename=exported.filename, data=exported.content
        ).assessment.id
    assert settings_of(engine, second) == before
    assert specs_of(engine, second) == specs_of(engine, first)


def test_settings_that_break_a_rule_refuse_the_file_and_store_nothing(engine: Engine) -> None:
    author = make_actor(engine, Role.AUTHOR)
    package = qti.write_package(
        title="Bad settings",
        description="",
        questions=[QuestionSpec(kind="numeric", prompt="2+2?", points=1, numeric_answer=4)],
        settings=qti.AssessmentSettings(pass_percent=140.0),
    )
    before = rows(engine)
    with unit_of_work(bind=engine) as session, pytest.raises(InvalidInput) as refused:
        interchange.import_qti(session, actor=author, filename="bad.zip", data=package)
    assert refused.value.field == "pass_percent"
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = members["imsmanifest.xml"]
    members["imsmanifest.xml"] = manifest.replace(
        b">140.0</s:pass-percent>", b">lots</s:pass-percent>"
    )
    assert members["imsmanifest.xml"] != manifest
    garbled = zip_of(members)
    with unit_of_work(bind=engine) as session, pytest.raises(InvalidInput) as refused:
        interchange.import_qti(session, actor=author, filename="bad.zip", data=garbled)
    assert refused.value.code == "bad_settings"
    assert rows(engine) == before


def test_another_systems_package_gets_the_default_settings(engine: Engine) -> None:
    author = make_actor(engine, Role.AUTHOR)
    with unit_of_work(bind=engine) as session:
        imported = interchange.import_qti(
            session, actor=author, filename="sample.zip", data=sample_package()
        ).assessment
        assert (imported.pass_percent, imported.max_attempts, imported.adaptive) == (
            interchange.IMPORTED_PASS_PERCENT,
            None,
            False,
        )
