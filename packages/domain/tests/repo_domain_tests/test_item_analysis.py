"""Item analysis against a hand computation (the numbers are worked out below) and against a
reference implementation (scipy's point-biserial, alpha from the variance formula) on the same
data, read through the database on both dialects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sqlalchemy import Engine

from repo_db import unit_of_work
from repo_db.models import (
    AnswerOption,
    Assessment,
    AssessmentStatus,
    Attempt,
    AttemptStatus,
    Calibration,
    ItemParameter,
    Question,
    QuestionKind,
    Response,
    Role,
)
from repo_domain import item_analysis as ia
from repo_domain.common import Actor
from repo_domain.errors import Forbidden
from repo_domain_tests.factories import make_actor, wiped


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    with wiped(db_engine) as engine:
        yield engine


# --- the hand-computed data set -------------------------------------------------------------
# Six graded attempts a1..a6 on three 1-point questions (1 = right):
#
#        Q1 Q2 Q3  total   Q1 (single choice A*/B/C)  Q2 (single choice D*/E)  Q3 (numeric 42)
#   a1    1  1  0    2      A                          D                        7
#   a2    1  1  1    3      A                          D                        42
#   a3    1  0  0    1      A                          E                        7
#   a4    0  0  1    1      B                          E                        42
#   a5    0  1  0    1      C                          D                        7
#   a6    0  0  1    1      (no answer)                E                        42
#
# Facility: Q1 3/6 = 0.5, Q2 3/6 = 0.5, Q3 3/6 = 0.5.
# Groups: 27% of 6 = 1.62 -> 2 attempts each. Totals sorted (stable, attempt order on ties):
#   a3 a4 a5 a6 (1), a1 (2), a2 (3): lower = {a3, a4}, upper = {a1, a2}.
# Discrimination index (upper facility - lower facility):
#   Q1: 2/2 - 1/2 = 0.5;  Q2: 2/2 - 0/2 = 1.0;  Q3: 1/2 - 1/2 = 0.0.
# Corrected point-biserial (item vs total minus the item):
#   Q1: x = 1 1 1 0 0 0, rest = 1 2 0 1 1 1 (mean 1): sum dx*dr = .5(0+1-1) - .5(0+0+0) = 0 -> 0.
#   Q2: x = 1 1 0 0 1 0, rest = 1 2 1 1 0 1 (mean 1): sum dx*dr = .5(0+1-1) - .5(0) = 0 -> 0.
#   Q3: x = 0 1 0 1 0 1, rest = 2 2 1 0 1 0 (mean 1): dr = 1 1 0 -1 0 -1,
#       sum dx*dr = -.5 + .5 + 0 - .5 + 0 - .5 = -1; sum dx^2 = 1.5; sum dr^2 = 4
#       -> r = -1 / sqrt(6) = -0.408248...
# KR-20 (all right/wrong): k = 3, sum p*q = 3 x 0.25 = 0.75; totals 2 3 1 1 1 1, mean 1.5,
#   population variance (0.25 + 2.25 + 4 x 0.25) / 6 = 3.5 / 6 = 0.583333...;
#   KR-20 = 3/2 x (1 - 0.75 / 0.583333) = 1.5 x (-0.285714) = -0.428571... (a test whose
#   questions do not measure one thing can have a negative alpha).
# Distractors, Q1: A 3/6, B 1/6, C 1/6, nothing 1/6; upper {a1, a2}: A 1, B 0, C 0;
#   lower {a3, a4}: A 1/2, B 1/2, C 0.
# Flags: Q3 negative discrimination (r < 0); none too easy (> 0.9) or too hard (< 0.2).

HAND = [  # per attempt: (Q1 option letter or None, Q2 option letter, Q3 value)
    ("A", "D", 7.0),
    ("A", "D", 42.0),
    ("A", "E", 7.0),
    ("B", "E", 42.0),
    ("C", "D", 7.0),
    (None, "E", 42.0),
]


@dataclass
class Seeded:
    assessment_id: int
    author: Actor
    question_ids: list[int]
    option_ids: dict[str, int]


def _seed_hand(engine: Engine) -> Seeded:
    author = make_actor(engine, Role.AUTHOR)
    with unit_of_work(bind=engine) as session:
        assessment = Assessment(
            author_id=author.id, title="Hand", status=AssessmentStatus.PUBLISHED
        )
        session.add(assessment)
        session.flush()
        kinds = [QuestionKind.SINGLE_CHOICE, QuestionKind.SINGLE_CHOICE, QuestionKind.NUMERIC]
        questions = [
            Question(assessment_id=assessment.id, position=p, kind=k, prompt=f"Q{p + 1}")
            for p, k in enumerate(kinds)
        ]
        questions[2].numeric_answer = 42.0
        session.add_all(questions)
        session.flush()
        letters = {questions[0].id: "ABC", questions[1].id: "DE"}
        options = {}
        for question_id, names in letters.items():
            for position, letter in enumerate(names):
                option = AnswerOption(
                    question_id=question_id,
                    position=position,
                    text=letter,
                    is_correct=position == 0,
                )
                session.add(option)
                session.flush()
                options[letter] = option.id
        for q1, q2, q3 in HAND:
            learner = make_actor(engine)
            attempt = Attempt(
                assessment_id=assessment.id, user_id=learner.id, status=AttemptStatus.GRADED
            )
            session.add(attempt)
            session.flush()
            if q1 is not None:
                session.add(
                    Response(
                        attempt_id=attempt.id,
                        question_id=questions[0].id,
                        selected_option_ids=[options[q1]],
                        score=1.0 if q1 == "A" else 0.0,
                    )
                )
            session.add(
                Response(
                    attempt_id=attempt.id,
                    question_id=questions[1].id,
                    selected_option_ids=[options[q2]],
                    score=1.0 if q2 == "D" else 0.0,
                )
            )
            session.add(
                Response(
                    attempt_id=attempt.id,
                    question_id=questions[2].id,
                    numeric_value=q3,
                    score=1.0 if q3 == 42.0 else 0.0,
                )
            )
        # An attempt in progress and one awaiting a grade: not part of the analysis.
        for status in (AttemptStatus.IN_PROGRESS, AttemptStatus.GRADING):
            learner = make_actor(engine)
            attempt = Attempt(assessment_id=assessment.id, user_id=learner.id, status=status)
            session.add(attempt)
            session.flush()
            session.add(
                Response(attempt_id=attempt.id, question_id=questions[2].id, numeric_value=1.0)
            )
        return Seeded(assessment.id, author, [q.id for q in questions], options)


def test_matches_the_hand_computation(engine: Engine) -> None:
    # Fails if a formula changes (e.g. an uncorrected point-biserial, a group size rounded
    # differently, attempts in progress counted, or an unanswered question left out).
    seeded = _seed_hand(engine)
    with unit_of_work(read_only=True, bind=engine) as session:
        report = ia.item_analysis(session, actor=seeded.author, assessment_id=seeded.assessment_id)
    assert report.attempts == 6 and report.group_size == 2
    q1, q2, q3 = report.items
    assert [q.facility for q in report.items] == [0.5, 0.5, 0.5]
    assert [q.discrimination_index for q in report.items] == [0.5, 1.0, 0.0]
    assert q1.point_biserial == pytest.approx(0.0, abs=1e-12)
    assert q2.point_biserial == pytest.approx(0.0, abs=1e-12)
    assert q3.point_biserial == pytest.approx(-1 / 6**0.5)
    assert report.reliability.statistic == "kr20"
    assert report.reliability.value == pytest.approx(-0.428571, abs=1e-6)
    assert report.reliability.attempts == 6 and report.reliability.questions == 3
    assert q1.flags == [] and q2.flags == []
    assert q3.flags == [ia.FLAG_NEGATIVE_DISCRIMINATION]
    shares = {o.text: (o.chosen, o.chosen_upper, o.chosen_lower, o.is_correct) for o in q1.options}
    assert shares == {
        "A": (pytest.approx(3 / 6), 1.0, 0.5, True),
        "B": (pytest.approx(1 / 6), 0.0, 0.5, False),
        "C": (pytest.approx(1 / 6), 0.0, 0.0, False),
    }
    assert q1.unanswered_share == pytest.approx(1 / 6) and q1.answered == 5
    assert q3.options == [] and q3.unanswered_share is None  # numeric: no distractor table
    assert q3.irt is None and report.calibration is None


def test_calibrated_parameters_are_shown_with_their_standard_errors(engine: Engine) -> None:
    # Fails if the 2PL parameters stop being read, or a hand-set difficulty with no calibration
    # (an author's guess) is presented as a calibrated estimate.
    seeded = _seed_hand(engine)
    q1, q2, _ = seeded.question_ids
    with unit_of_work(bind=engine) as session:
        calibration = Calibration(
            assessment_id=seeded.assessment_id,
            model="2pl",
            method="test",
            n_learners=6,
            n_responses=18,
            n_items=1,
            iterations=12,
            converged=True,
        )
        session.add(calibration)
        session.flush()
        session.add(
            ItemParameter(
                question_id=q1,
                difficulty=-0.4,
                discrimination=1.3,
                difficulty_se=0.21,
                discrimination_se=0.35,
                fit_rmsd=0.03,
                n_responses=6,
                calibration_id=calibration.id,
            )
        )
        session.add(ItemParameter(question_id=q2, difficulty=1.0, discrimination=1.0))
        calibration_id = calibration.id
    with unit_of_work(read_only=True, bind=engine) as session:
        report = ia.item_analysis(session, actor=seeded.author, assessment_id=seeded.assessment_id)
    irt = report.items[0].irt
    assert irt is not None
    assert (irt.discrimination, irt.discrimination_se) == (1.3, 0.35)
    assert (irt.difficulty, irt.difficulty_se) == (-0.4, 0.21)
    assert irt.calibration_id == calibration_id and irt.n_responses == 6
    assert report.items[1].irt is None
    assert report.calibration is not None and report.calibration.calibration_id == calibration_id


def test_same_authorization_as_the_statistics(engine: Engine) -> None:
    seeded = _seed_hand(engine)
    other_author = make_actor(engine, Role.AUTHOR)
    admin = make_actor(engine, Role.ADMIN)
    learner = make_actor(engine)
    with unit_of_work(read_only=True, bind=engine) as session:
        with pytest.raises(Forbidden):
            ia.item_analysis(session, actor=other_author, assessment_id=seeded.assessment_id)
        with pytest.raises(Forbidden):
            ia.item_analysis(session, actor=learner, assessment_id=seeded.assessment_id)
        report = ia.item_analysis(session, actor=admin, assessment_id=seeded.assessment_id)
    assert report.attempts == 6


def test_no_attempts_yet(engine: Engine) -> None:
    author = make_actor(engine, Role.AUTHOR)
    with unit_of_work(bind=engine) as session:
        assessment = Assessment(author_id=author.id, title="Empty")
        session.add(assessment)
        session.flush()
        session.add(
            Question(
                assessment_id=assessment.id, position=0, kind=QuestionKind.FREE_TEXT, prompt="?"
            )
        )
        assessment_id = assessment.id
    with unit_of_work(read_only=True, bind=engine) as session:
        report = ia.item_analysis(session, actor=author, assessment_id=assessment_id)
    assert report.attempts == 0 and report.reliability.value is None
    assert report.items[0].facility is None and report.items[0].flags == []


# --- against a reference implementation -----------------------------------------------------


def _reference_discrimination(points: np.ndarray, max_points: np.ndarray) -> np.ndarray:
    """Written independently: rank by total with ties in row order, take 27% rounded half up."""
    n = points.shape[0]
    size = max(1, int(np.floor(0.27 * n + 0.5)))
    ranked = sorted(range(n), key=lambda i: (points[i].sum(), i))
    lower, upper = ranked[:size], ranked[-size:]
    shares = points / max_points
    return np.asarray(shares[upper].mean(axis=0) - shares[lower].mean(axis=0))


def test_matches_scipy_and_the_variance_formula_on_random_data() -> None:
    # Pure functions on a 200 x 6 matrix: dichotomous questions worth 1-3 points, then partial
    # credit. Fails if the maths drift from the textbook definitions.
    rng = np.random.default_rng(20)
    max_points = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 1.0])
    ability = rng.normal(size=200)
    right = rng.random((200, 6)) < 1 / (1 + np.exp(-(ability[:, None] - rng.normal(size=6))))
    points = right * max_points
    for j in range(6):
        rest = points.sum(axis=1) - points[:, j]
        expected = scipy_stats.pointbiserialr(right[:, j], rest).statistic
        assert ia.corrected_point_biserials(points)[j] == pytest.approx(expected, abs=1e-12)
    k = points.shape[1]
    alpha = k / (k - 1) * (1 - points.var(axis=0).sum() / points.sum(axis=1).var())
    assert ia.cronbach_alpha(points) == pytest.approx(alpha, abs=1e-12)
    assert ia.is_dichotomous(points, list(max_points))
    np.testing.assert_allclose(ia.facilities(points, list(max_points)), right.mean(axis=0))
    np.testing.assert_allclose(
        ia.discrimination_indices(points, list(max_points)),
        _reference_discrimination(points, max_points),
    )
    partial = np.round(rng.random((200, 6)) * max_points * 2) / 2  # half-point steps
    alpha = k / (k - 1) * (1 - partial.var(axis=0).sum() / partial.sum(axis=1).var())
    assert ia.cronbach_alpha(partial) == pytest.approx(alpha, abs=1e-12)
    assert not ia.is_dichotomous(partial, list(max_points))
    for j in range(6):
        rest = partial.sum(axis=1) - partial[:, j]
        expected = scipy_stats.pearsonr(partial[:, j], rest).statistic
        assert ia.corrected_point_biserials(partial)[j] == pytest.approx(expected, abs=1e-12)


def test_flags_use_the_named_thresholds() -> None:
    assert ia.flags_for(ia.TOO_EASY_FACILITY + 0.01, 0.3, 0.3) == [ia.FLAG_TOO_EASY]
    assert ia.flags_for(ia.TOO_EASY_FACILITY, 0.3, 0.3) == []
    assert ia.flags_for(ia.TOO_HARD_FACILITY - 0.01, 0.3, 0.3) == [ia.FLAG_TOO_HARD]
    assert ia.flags_for(0.5, -0.1, 0.2) == [ia.FLAG_NEGATIVE_DISCRIMINATION]
    assert ia.flags_for(0.5, None, None) == []
