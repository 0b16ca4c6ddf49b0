"""Review groups: look-alike flagged answers share a cluster key (the pure rule), and the worker
stores the key when it flags a grade, on both databases, so the domain's queue groups them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from repo_ai.clustering import Member, assign, normalise
from repo_ai.config import AiSettings
from repo_ai.worker import Worker
from repo_ai_tests.helpers import make_quiz, make_user, submit_attempt, wiped
from repo_db import unit_of_work
from repo_db.models import Feedback, Response
from repo_domain import review_groups


def test_normalise_ignores_case_accents_punctuation_and_spacing() -> None:
    assert normalise("  It  CALLS itself!! ") == normalise("it calls itself.") == "it calls itself"
    assert normalise("Café—au-lait") == "cafe au lait"
    assert normalise("?!") == ""


def test_look_alikes_join_the_nearest_cluster_and_the_rest_start_their_own() -> None:
    existing = [
        Member(response_id=10, text="A function that calls itself.", cluster=10),
        Member(response_id=11, text="It loops over a list.", cluster=11),
    ]
    keys = assign(
        existing,
        [
            (20, "a function that calls ITSELF"),  # same text once normalised
            (21, "A funtion that calls itself"),  # a typo
            (22, "It loops over the list"),
            (23, "Recursion is when a problem is split into smaller problems."),
            (24, "recursion is when a problem is split into smaller problems"),  # joins 23
            (25, ""),
            (26, "   "),  # empty once normalised: the same group as 25
        ],
    )
    assert keys == {20: 10, 21: 10, 22: 11, 23: 23, 24: 23, 25: 25, 26: 25}


def test_the_threshold_decides_and_nothing_new_means_nothing_to_do() -> None:
    existing = [Member(response_id=1, text="a function that calls itself", cluster=1)]
    near = [(2, "the function calls itself again")]
    assert assign(existing, near, threshold=0.3) == {2: 1}
    assert assign(existing, near, threshold=0.99) == {2: 2}
    assert assign(existing, []) == {}
    assert assign([], [(5, ""), (6, "")]) == {5: 5, 6: 5}


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


def test_the_worker_stores_cluster_keys_and_the_queue_groups_by_them(engine: Engine) -> None:
    author = make_user(engine, "author")
    quiz = make_quiz(engine, author)
    texts = [
        "It makes the emails unique.",
        "it makes the emails unique",
        "The index sorts the table by email so a lookup does not scan every row.",
        "It makes the email unique!",
    ]
    attempt_ids = [
        submit_attempt(engine, make_user(engine), quiz, text=t, right=True) for t in texts
    ]
    # Every grade below the threshold: all four are flagged, one job per attempt.
    Worker(settings=AiSettings(review_threshold=1.01), engine=engine).run(drain=True)

    with unit_of_work(bind=engine, read_only=True) as session:
        rows = session.execute(
            select(Response.attempt_id, Response.id, Feedback.cluster)
            .join(Feedback, Feedback.response_id == Response.id)
            .where(Feedback.needs_review.is_(True))
            .order_by(Response.attempt_id)
        ).all()
        assert [r.attempt_id for r in rows] == attempt_ids
        first = rows[0].id
        assert [r.cluster for r in rows] == [first, first, rows[2].id, first]
        page = review_groups.review_groups(
            session, actor=author, assessment_id=quiz.assessment_id, after=None, limit=10
        )
    assert sorted((g.group_id, g.size) for g in page.items) == [(first, 3), (rows[2].id, 1)]
