"""Free-text grading from the question's rubric, and from the author's reviews once there are some.

``grade_answer(rubric, answer)`` works zero-shot, from the rubric alone
(``repo_ai.grading_rubric``: model answers, key ideas with accepted phrasings, known false
statements). It measures what the answer *says* (``repo_ai.grading_features``: key ideas
stated with the right polarity, ideas contradicted or negated, known false statements, overlap
with the model answer) and *how* (a keyword list is not a sentence: function-word share,
connectives), and a small logistic regression over those features, fitted on the training
answers of the shipped labelled set, picks the level: 0, half or full points
(``repo_ai.grading_model``). The confidence is the calibrated chance that the level agrees with
a human's on a question the model has not seen; below ``DEFAULT_REVIEW_THRESHOLD`` the worker
sends the grade to the review queue.

With ``reviewed`` (the author's grades of earlier answers to the same question), a per-question
model trained on them joins in (``repo_ai.grading_reviews``).

The learner-facing feedback never names a key idea (naming a missing one hands over the rubric,
and a retake with it scores full): it says how many key ideas the answer covers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from repo_ai.grading_features import as_vector, features, matched_ideas
from repo_ai.grading_model import LEVELS, shipped_model
from repo_ai.grading_reviews import question_model
from repo_ai.grading_rubric import Rubric
from repo_ai.grading_text import is_content, tokens

__all__ = [
    "DEFAULT_REVIEW_THRESHOLD",
    "MODEL_VERSION",
    "Grade",
    "Rubric",
    "grade_answer",
    "load_labelled_set",
    "quadratic_weighted_kappa",
]

#: 3: WordNet synonyms (repo_ai.grading_wordnet); 4: antonym contradictions, answer-side
#: WordNet features, class weights, doubt-aware calibration.
MODEL_VERSION = "rubric-ideas-4"
#: Below this confidence a grade goes to the review queue.
DEFAULT_REVIEW_THRESHOLD = 0.6


@dataclass(frozen=True, slots=True)
class Grade:
    fraction: float  # 0, 0.5 or 1: the share of the question's points
    score: float  # the expected share of points in [0, 1] under the model's probabilities
    confidence: float  # calibrated probability that the level is the one a human would give
    coverage: float | None  # share of key ideas stated (None: the rubric lists none)
    similarity: float  # overlap of content with the model answer, in [0, 1]
    matched: list[str]  # key ideas stated: for the grader's own use, never for the learner
    missing: list[str]
    feedback: str


def grade_answer(rubric: Rubric, answer: str, reviewed: Sequence[tuple[str, float]] = ()) -> Grade:
    """Grade one answer against a rubric (no database, no state). ``reviewed`` holds the
    author's (answer, fraction) grades of earlier answers to this question, if any."""
    if not any(is_content(t) for t in tokens(answer)):
        return Grade(0.0, 0.0, 1.0, 0.0, 0.0, [], _labels(rubric), "No answer was given.")
    values = features(rubric, answer)
    model = question_model(rubric, tuple(reviewed)) if reviewed else None
    if model is not None:
        level, confidence, proba = model.predict(answer)
    else:
        levels, confidences, probas = shipped_model().predict(as_vector(values))
        level, confidence, proba = int(levels[0]), float(confidences[0]), probas[0]
    fraction = LEVELS[level]
    matched, missing = matched_ideas(rubric, answer)
    coverage = len(matched) / len(rubric.ideas) if rubric.ideas else None
    return Grade(
        fraction=fraction,
        score=round(float(sum(p * v for p, v in zip(proba, LEVELS, strict=True))), 4),
        confidence=round(confidence, 3),
        coverage=coverage,
        similarity=round(values["ref_recall"], 4),
        matched=matched,
        missing=missing,
        feedback=_feedback(fraction, len(matched), len(rubric.ideas), values),
    )


def _labels(rubric: Rubric) -> list[str]:
    return [idea.label for idea in rubric.ideas]


def _feedback(fraction: float, matched: int, total: int, values: dict[str, float]) -> str:
    """The learner-facing explanation: how much of the rubric the answer covers, never which
    key ideas (naming a missing one hands over the rubric, and a retake with it scores full)."""
    parts = [{1.0: "Full marks.", 0.5: "Partly right.", 0.0: "Not yet right."}[fraction]]
    if total:
        parts.append(f"Covers {matched} of {total} key ideas.")
    if values["contradicted"] or values["false"]:
        parts.append("Part of the answer states something that is not right.")
    elif values["fluency"] < 0.3 and fraction < 1.0:
        parts.append("Explain in sentences: a list of terms is not an explanation.")
    return " ".join(parts)


def load_labelled_set() -> dict[str, Any]:
    """The first labelled answers shipped with the app (repo_ai/data/grading_set.json; scores
    0-2, six questions). The grader is never fitted on them: they check it on unseen
    questions. The larger set with classes and a held-out split is
    ``repo_ai.grading_model.load_labelled()``."""
    text = resources.files("repo_ai").joinpath("data/grading_set.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def quadratic_weighted_kappa(human: list[int], machine: list[int], levels: int) -> float:
    from sklearn.metrics import cohen_kappa_score  # type: ignore[import-untyped]

    return float(cohen_kappa_score(human, machine, weights="quadratic", labels=list(range(levels))))
