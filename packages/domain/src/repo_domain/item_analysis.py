"""Item analysis (classical test theory) for an assessment's authors: facility, discrimination
index, corrected point-biserial, distractor shares, the test's reliability, and the 2PL
parameters that apps/ai calibrates.

The maths are pure functions over a score matrix (rows: graded attempts, columns: questions,
values: points scored); ``item_analysis`` reads that matrix through repo_db's models. Only
graded attempts count: an attempt still awaiting a free-text grade has no final scores.
A question left unanswered scores 0, as it does in the attempt's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from repo_db.models import (
    AnswerOption,
    Attempt,
    AttemptStatus,
    Calibration,
    ItemParameter,
    Question,
    QuestionKind,
    Response,
)
from repo_domain.assessments import get_managed
from repo_domain.common import Actor

FloatMatrix = NDArray[np.float64]

#: Share of attempts in each of the upper and lower groups of the discrimination index (Kelley).
GROUP_SHARE = 0.27
#: Questions answered right (facility) more often than this are flagged as too easy.
TOO_EASY_FACILITY = 0.9
#: Questions answered right less often than this are flagged as too hard.
TOO_HARD_FACILITY = 0.2
#: A discrimination index or corrected point-biserial below this is flagged: high scorers do
#: worse on the question than low scorers (often a wrong key or an ambiguous wording).
MIN_DISCRIMINATION = 0.0

FLAG_NEGATIVE_DISCRIMINATION = "negative_discrimination"
FLAG_TOO_EASY = "too_easy"
FLAG_TOO_HARD = "too_hard"

_CHOICE = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)


# --- the maths: pure functions over the score matrix --------------------------------------


def facilities(points: FloatMatrix, max_points: Sequence[float]) -> NDArray[np.float64]:
    """Mean share of the available points scored, per question (1 = everyone got it right)."""
    shares = _shares(points, max_points)
    return np.asarray(shares.mean(axis=0), dtype=np.float64)


def group_size(n_attempts: int, share: float = GROUP_SHARE) -> int:
    """Attempts in each of the upper and lower groups: share x n rounded half up, at least 1."""
    return max(1, int(share * n_attempts + 0.5))


def upper_lower_groups(
    totals: NDArray[np.float64], share: float = GROUP_SHARE
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row indices of the highest and lowest scorers. Ties at a group's edge go by row order
    (attempt order), the earlier attempt counting as the lower one: a stable sort, so the same
    data always gives the same groups."""
    order = np.argsort(totals, kind="stable")
    n = group_size(len(totals), share)
    return order[-n:], order[:n]


def discrimination_indices(
    points: FloatMatrix, max_points: Sequence[float], share: float = GROUP_SHARE
) -> NDArray[np.float64]:
    """Facility in the upper group minus facility in the lower group, per question (-1..1)."""
    shares = _shares(points, max_points)
    upper, lower = upper_lower_groups(points.sum(axis=1), share)
    return np.asarray(shares[upper].mean(axis=0) - shares[lower].mean(axis=0), dtype=np.float64)


def corrected_point_biserials(points: FloatMatrix) -> list[float | None]:
    """Pearson correlation of each question's score with the rest of the test (the total minus
    that question, so the question does not correlate with itself). For a right/wrong question
    this is the point-biserial correlation. None where either side does not vary."""
    totals = points.sum(axis=1)
    out: list[float | None] = []
    for j in range(points.shape[1]):
        out.append(_pearson(points[:, j], totals - points[:, j]))
    return out


def cronbach_alpha(points: FloatMatrix) -> float | None:
    """k/(k-1) x (1 - sum of question variances / variance of the totals); KR-20 when every
    question is right/wrong (a 0/1 question's variance is p x q). None below 2 questions or 2
    attempts, or when the totals do not vary."""
    n, k = points.shape
    if k < 2 or n < 2:
        return None
    total_variance = float(points.sum(axis=1).var(ddof=1))
    if total_variance <= 0.0:
        return None
    item_variances = float(points.var(axis=0, ddof=1).sum())
    return k / (k - 1) * (1.0 - item_variances / total_variance)


def is_dichotomous(points: FloatMatrix, max_points: Sequence[float]) -> bool:
    """Every score is either 0 or the question's full points."""
    full = np.asarray(max_points, dtype=np.float64)[None, :]
    return bool(np.all(np.isclose(points, 0.0) | np.isclose(points, full)))


def flags_for(facility: float | None, discrimination: float | None, r: float | None) -> list[str]:
    flags = []
    if (discrimination is not None and discrimination < MIN_DISCRIMINATION) or (
        r is not None and r < MIN_DISCRIMINATION
    ):
        flags.append(FLAG_NEGATIVE_DISCRIMINATION)
    if facility is not None and facility > TOO_EASY_FACILITY:
        flags.append(FLAG_TOO_EASY)
    if facility is not None and facility < TOO_HARD_FACILITY:
        flags.append(FLAG_TOO_HARD)
    return flags


def _shares(points: FloatMatrix, max_points: Sequence[float]) -> FloatMatrix:
    full = np.asarray(max_points, dtype=np.float64)
    safe = np.where(full > 0, full, 1.0)
    return np.asarray(np.where(full > 0, points / safe, 0.0), dtype=np.float64)


def _pearson(x: NDArray[np.float64], y: NDArray[np.float64]) -> float | None:
    if len(x) < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denominator = float(np.sqrt((dx * dx).sum() * (dy * dy).sum()))
    if denominator <= 1e-12:
        return None
    return float((dx * dy).sum() / denominator)


# --- the read model ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionShare:
    """How often one option was chosen, overall and in the upper and lower groups."""

    option_id: int
    position: int
    text: str
    is_correct: bool
    chosen: float
    chosen_upper: float
    chosen_lower: float


@dataclass(frozen=True, slots=True)
class Irt2PL:
    """The question's 2PL parameters from apps/ai's calibration, with standard errors."""

    discrimination: float
    discrimination_se: float | None
    difficulty: float
    difficulty_se: float | None
    fit_rmsd: float | None
    n_responses: int
    calibration_id: int


@dataclass(frozen=True, slots=True)
class ItemStats:
    question_id: int
    number: int  # 1-based, in position order, as learners see it
    kind: str
    prompt: str
    points: float
    answered: int
    facility: float | None
    discrimination_index: float | None
    point_biserial: float | None
    flags: list[str]
    options: list[OptionShare] = field(default_factory=list)
    unanswered_share: float | None = None  # choice questions: share of attempts choosing nothing
    irt: Irt2PL | None = None


@dataclass(frozen=True, slots=True)
class Reliability:
    statistic: str  # "kr20" when every question is right/wrong, else "alpha"
    value: float | None
    attempts: int
    questions: int


@dataclass(frozen=True, slots=True)
class CalibrationInfo:
    calibration_id: int
    created_at: datetime
    n_learners: int
    converged: bool


@dataclass(frozen=True, slots=True)
class ItemAnalysis:
    assessment_id: int
    attempts: int  # graded attempts the analysis rests on
    group_size: int  # attempts in each of the upper and lower groups
    reliability: Reliability
    items: list[ItemStats]
    calibration: CalibrationInfo | None


def item_analysis(session: Session, *, actor: Actor, assessment_id: int) -> ItemAnalysis:
    """The owning author or an admin (as for the statistics); others get 403 or 404."""
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id)
    questions = list(
        session.scalars(
            select(Question)
            .where(Question.assessment_id == assessment.id)
            .order_by(Question.position)
        )
    )
    column = {q.id: j for j, q in enumerate(questions)}
    options: dict[int, list[AnswerOption]] = {q.id: [] for q in questions if q.kind in _CHOICE}
    if options:
        for option in session.scalars(
            select(AnswerOption)
            .where(AnswerOption.question_id.in_(list(options)))
            .order_by(AnswerOption.question_id, AnswerOption.position)
        ):
            options[option.question_id].append(option)
    option_column = {
        o.id: i for i, o in enumerate(o for q in options.values() for o in q)
    }  # every choice option's column in the selection matrix
    attempt_ids = list(
        session.scalars(
            select(Attempt.id)
            .where(Attempt.assessment_id == assessment.id, Attempt.status == AttemptStatus.GRADED)
            .order_by(Attempt.id)
        )
    )
    row = {attempt_id: i for i, attempt_id in enumerate(attempt_ids)}
    points = np.zeros((len(attempt_ids), len(questions)), dtype=np.float64)
    answered = np.zeros((len(attempt_ids), len(questions)), dtype=bool)
    chose = np.zeros((len(attempt_ids), len(option_column)), dtype=bool)
    if attempt_ids and questions:
        responses = session.execute(
            select(
                Response.attempt_id,
                Response.question_id,
                Response.score,
                Response.selected_option_ids,
                Response.numeric_value,
                Response.text_value,
            )
            .join(Attempt, Attempt.id == Response.attempt_id)
            .where(Attempt.assessment_id == assessment.id, Attempt.status == AttemptStatus.GRADED)
        )
        for r in responses:
            i, j = row.get(r.attempt_id), column.get(r.question_id)
            if i is None or j is None:
                continue
            points[i, j] = float(r.score or 0.0)
            selected = [o for o in (r.selected_option_ids or []) if o in option_column]
            answered[i, j] = bool(selected) or r.numeric_value is not None or bool(r.text_value)
            for option_id in selected:
                chose[i, option_column[option_id]] = True

    max_points = [float(q.points) for q in questions]
    n = len(attempt_ids)
    size = group_size(n) if n else 0
    facility = facilities(points, max_points) if n else None
    discrimination = discrimination_indices(points, max_points) if n >= 2 else None
    r_pb = corrected_point_biserials(points) if n >= 2 else [None] * len(questions)
    upper, lower = upper_lower_groups(points.sum(axis=1)) if n else (None, None)
    parameters = _calibrated_parameters(session, [q.id for q in questions])

    items = []
    for j, q in enumerate(questions):
        f = float(facility[j]) if facility is not None else None
        d = float(discrimination[j]) if discrimination is not None else None
        shares: list[OptionShare] = []
        unanswered: float | None = None
        if q.kind in _CHOICE and n:
            for option in options[q.id]:
                picked = chose[:, option_column[option.id]]
                shares.append(
                    OptionShare(
                        option_id=option.id,
                        position=option.position,
                        text=option.text,
                        is_correct=option.is_correct,
                        chosen=float(picked.mean()),
                        chosen_upper=float(picked[upper].mean()),
                        chosen_lower=float(picked[lower].mean()),
                    )
                )
            unanswered = float(1.0 - answered[:, j].mean())
        items.append(
            ItemStats(
                question_id=q.id,
                number=j + 1,
                kind=q.kind,
                prompt=q.prompt,
                points=float(q.points),
                answered=int(answered[:, j].sum()),
                facility=f,
                discrimination_index=d,
                point_biserial=r_pb[j],
                flags=flags_for(f, d, r_pb[j]) if n >= 2 else [],
                options=shares,
                unanswered_share=unanswered,
                irt=parameters.get(q.id),
            )
        )
    dichotomous = is_dichotomous(points, max_points) if n else False
    return ItemAnalysis(
        assessment_id=assessment.id,
        attempts=n,
        group_size=size,
        reliability=Reliability(
            statistic="kr20" if dichotomous else "alpha",
            value=cronbach_alpha(points),
            attempts=n,
            questions=len(questions),
        ),
        items=items,
        calibration=_latest_calibration(session, assessment.id),
    )


def _calibrated_parameters(session: Session, question_ids: list[int]) -> dict[int, Irt2PL]:
    """Rows written by a calibration (apps/ai's store sets calibration_id); a hand-set
    difficulty without a calibration carries no standard errors and is not shown."""
    if not question_ids:
        return {}
    rows = session.scalars(
        select(ItemParameter).where(
            ItemParameter.question_id.in_(question_ids), ItemParameter.calibration_id.is_not(None)
        )
    )
    return {
        p.question_id: Irt2PL(
            discrimination=p.discrimination,
            discrimination_se=p.discrimination_se,
            difficulty=p.difficulty,
            difficulty_se=p.difficulty_se,
            fit_rmsd=p.fit_rmsd,
            n_responses=p.n_responses,
            calibration_id=int(p.calibration_id or 0),
        )
        for p in rows
    }


def _latest_calibration(session: Session, assessment_id: int) -> CalibrationInfo | None:
    latest = session.scalars(
        select(Calibration)
        .where(Calibration.assessment_id == assessment_id)
        .order_by(Calibration.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None
    return CalibrationInfo(
        calibration_id=latest.id,
        created_at=latest.created_at,
        n_learners=latest.n_learners,
        converged=latest.converged,
    )


__all__ = [
    "FLAG_NEGATIVE_DISCRIMINATION",
    "FLAG_TOO_EASY",
    "FLAG_TOO_HARD",
    "GROUP_SHARE",
    "MIN_DISCRIMINATION",
    "TOO_EASY_FACILITY",
    "TOO_HARD_FACILITY",
    "CalibrationInfo",
    "ItemAnalysis",
    "ItemStats",
    "Irt2PL",
    "OptionShare",
    "Reliability",
    "corrected_point_biserials",
    "cronbach_alpha",
    "discrimination_indices",
    "facilities",
    "flags_for",
    "group_size",
    "is_dichotomous",
    "item_analysis",
    "upper_lower_groups",
]
