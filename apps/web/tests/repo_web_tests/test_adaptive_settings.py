"""The adaptive limits on an adaptive assessment's edit page (issue 18): the form shows what the
next attempt runs under, saves percent as the domain's share, and shows the domain's refusals."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_db.models import Assessment, Role
from repo_domain import assessments
from repo_web_tests.helpers import (
    PageUser,
    location,
    log_in,
    make_assessment,
    make_user,
    post,
    sample_specs,
)

FORM = {"title": "Adaptive", "description": "", "pass_percent": "50", "max_attempts": ""}


def _adaptive(engine: Engine, author: PageUser, n_questions: int) -> int:
    specs = (sample_specs() * n_questions)[:n_questions]
    with unit_of_work(bind=engine) as session:
        a = assessments.create_assessment(
            session,
            actor=author.actor,
            title="Adaptive",
            description="",
            time_limit_seconds=None,
            pass_percent=50,
            questions=specs,
            adaptive=True,
        )
        assessments.publish(session, actor=author.actor, assessment_id=a.id)
        return a.id


def _stored(engine: Engine, assessment_id: int) -> tuple[object, ...]:
    with unit_of_work(read_only=True, bind=engine) as session:
        a = session.get(Assessment, assessment_id)
        assert a is not None
        return (a.adaptive_min_length, a.adaptive_max_length, a.adaptive_max_exposure)


def test_the_edit_page_sets_the_adaptive_limits(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    assessment_id = _adaptive(db_engine, author, 40)
    log_in(client, author)
    page = client.get(f"/manage/{assessment_id}").text
    assert "data-adaptive-policy" in page
    # 40 uncalibrated questions (a=1), target SE 0.35: ceil(2 x 7.16 / 0.25) > 40, so all 40.
    assert "Now: 1 to 40 questions" in page
    assert "more than 30% of learners" in page  # 0.3 x 40 = 12 >= 10: exposure control on

    form = {
        **FORM,
        "adaptive_min_length": "5",
        "adaptive_max_length": "20",
        "adaptive_max_exposure_percent": "25",
    }
    assert location(post(client, f"/manage/{assessment_id}", form)).endswith("notice=saved")
    assert _stored(db_engine, assessment_id) == (5, 20, 0.25)
    page = client.get(f"/manage/{assessment_id}").text
    assert "Now: 5 to 20 questions" in page and "more than 25% of learners" in page
    assert 'name="adaptive_max_exposure_percent" type="text" value="25"' in page

    refused = post(
        client, f"/manage/{assessment_id}", {**form, "adaptive_max_exposure_percent": "200"}
    )
    assert refused.status_code == 422
    assert 'id="field-adaptive_max_exposure_percent-error"' in refused.text
    assert "Between 5 and 100 percent" in refused.text
    crossed = post(client, f"/manage/{assessment_id}", {**form, "adaptive_min_length": "30"})
    assert crossed.status_code == 422
    assert "cannot be more than the most questions" in crossed.text
    assert _stored(db_engine, assessment_id) == (5, 20, 0.25)

    cleared = {
        **FORM,
        "adaptive_min_length": "",
        "adaptive_max_length": "",
        "adaptive_max_exposure_percent": "",
    }
    assert location(post(client, f"/manage/{assessment_id}", cleared)).endswith("notice=saved")
    assert _stored(db_engine, assessment_id) == (None, None, None)


def test_a_small_bank_says_exposure_control_is_off(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    assessment_id = _adaptive(db_engine, author, 6)
    log_in(client, author)
    assert "No exposure control" in client.get(f"/manage/{assessment_id}").text


def test_other_assessments_have_no_adaptive_fields(client: TestClient, db_engine: Engine) -> None:
    author = make_user(db_engine, role=Role.AUTHOR)
    assessment_id = make_assessment(db_engine, author)
    log_in(client, author)
    page = client.get(f"/manage/{assessment_id}").text
    assert "data-adaptive-policy" not in page and "adaptive_max_length" not in page
