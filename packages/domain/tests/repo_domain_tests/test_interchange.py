"""QTI import and export commands on SQLite and PostgreSQL: who may, what the draft holds, and
that a refused file leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from repo_db import unit_of_work
from repo_db.models import Assessment, AssessmentStatus, Question, Role
from repo_db.testing import truncate_all
from repo_domain import assessments, interchange, qti
from repo_domain.errors import Forbidden, InvalidInput, NotFound
from repo_domain.questions import QuestionSpec
from repo_domain_tests.factories import make_actor
from repo_domain_tests.qti_files import BILLION_LAUGHS, sample, sample_package


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
