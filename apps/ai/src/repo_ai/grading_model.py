"""The rubric grader's model: features -> level (0, half, full) and a calibrated confidence.

Fitted at first use from the *training* answers of the shipped labelled set
(``repo_ai/data/grading_labelled.json``; no pickle, nothing downloaded; about 0.1 s), never
from its held-out answers. Because the platform grades questions the model has never seen, the
confidence is calibrated on leave-one-question-out predictions: each training question is
predicted by a model fitted on the other questions, and Platt scaling maps the
model's probability of its chosen level to the observed share of correct levels. A
confidence of 0.8 therefore means "about 8 in 10 such grades agreed with the human on
questions the model had not seen".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

from repo_ai.grading_features import vector
from repo_ai.grading_rubric import Rubric
from repo_ai.grading_wordnet import SHIPPED, Expansion

LEVELS = (0.0, 0.5, 1.0)
#: Inverse regularisation strength of the logistic regression, and the cut points on the
#: expected share of points (half below ``CUTS[0]`` -> 0, above ``CUTS[1]`` -> full): chosen on
#: leave-one-question-out cross-validation over the training questions (benchmarks/grader.py
#: prints the comparison); the expected share, unlike the most probable level, keeps a
#: 0-or-full doubt at half marks, which costs less in quadratic weighted kappa.
C = 0.3
CUTS = (0.3, 0.7)
#: Weight of a training answer by its class when fitting. Right-in-other-words answers share
#: few words with the rubric, so an unweighted fit learns to give them half marks; counting
#: them twice (chosen by leave-one-question-out and the development split, with rubrics as
#: written and cut to one phrasing: docs/benchmarks.md) says that failing a right answer is
#: the costlier mistake. Every other class weighs 1.
CLASS_WEIGHTS = {"paraphrase": 2.0}
LABELLED_SET = "data/grading_labelled.json"
#: Written before the last round of tuning, never fitted or tuned on (docs/benchmarks.md).
SEALED_SET = "data/grading_sealed.json"


def load_labelled(name: str = LABELLED_SET) -> dict[str, Any]:
    text = resources.files("repo_ai").joinpath(name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def rubric_of(question: dict[str, Any], expansion: Expansion = SHIPPED) -> Rubric:
    return Rubric.of(question["reference_answer"], question["rubric_keywords"], expansion)


@dataclass(frozen=True)
class Rows:
    x: np.ndarray
    y: np.ndarray  # level index 0, 1, 2
    groups: np.ndarray  # question index
    weights: np.ndarray | None = None  # per answer (CLASS_WEIGHTS); None: all 1

    def select(self, columns: list[int]) -> Rows:
        return Rows(self.x[:, columns], self.y, self.groups, self.weights)


def training_rows(
    data: dict[str, Any] | None = None,
    expansion: Expansion = SHIPPED,
    class_weights: dict[str, float] | None = None,
) -> Rows:
    """Feature rows of the labelled set's training answers (``heldout`` false), weighted by
    class (``CLASS_WEIGHTS`` unless given)."""
    data = data or load_labelled()
    weighting = CLASS_WEIGHTS if class_weights is None else class_weights
    xs: list[np.ndarray] = []
    ys: list[int] = []
    groups: list[int] = []
    weights: list[float] = []
    for qi, question in enumerate(data["questions"]):
        rubric = rubric_of(question, expansion)
        for answer in question["answers"]:
            if answer["heldout"]:
                continue
            xs.append(vector(rubric, answer["text"]))
            ys.append(LEVELS.index(answer["score"]))
            groups.append(qi)
            weights.append(weighting.get(answer["class"], 1.0))
    return Rows(np.array(xs), np.array(ys), np.array(groups), np.array(weights))


def choose_levels(proba: np.ndarray, cuts: tuple[float, float] = CUTS) -> np.ndarray:
    """Level index per row from the expected share of points."""
    expected = proba @ np.array(LEVELS)
    return np.where(expected < cuts[0], 0, np.where(expected < cuts[1], 1, 2))


class LevelModel:
    """Standardised features -> multinomial logistic regression over the three levels."""

    def __init__(self, c: float = C) -> None:
        self.scaler = StandardScaler()
        self.model = LogisticRegression(C=c, max_iter=2000)

    def fit(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> LevelModel:
        self.model.fit(self.scaler.fit_transform(x), y, sample_weight=weights)
        return self

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Probabilities of all three levels (a level missing from training gets 0)."""
        p = self.model.predict_proba(self.scaler.transform(np.atleast_2d(x)))
        out = np.zeros((p.shape[0], len(LEVELS)))
        out[:, self.model.classes_] = p
        return out


def out_of_question_proba(rows: Rows, c: float = C) -> np.ndarray:
    """Each training question predicted by a model fitted on the others."""
    proba = np.zeros((len(rows.y), len(LEVELS)))
    for g in np.unique(rows.groups):
        test = rows.groups == g
        weights = None if rows.weights is None else rows.weights[~test]
        model = LevelModel(c).fit(rows.x[~test], rows.y[~test], weights)
        proba[test] = model.proba(rows.x[test])
    return proba


class Calibrator:
    """Platt scaling: a logistic regression of "the chosen level was right" on the logit of
    the model's probability for that level (smooth and monotone, so a surer prediction never
    gets a lower confidence), and on whether the chosen level is not the most probable one
    (the expected share puts a 0-or-full doubt at half marks: such grades are rarely the
    human's, whatever the probability of half)."""

    def __init__(self) -> None:
        self.model = LogisticRegression(C=1.0)

    @staticmethod
    def _inputs(proba: np.ndarray, level: np.ndarray) -> np.ndarray:
        p = np.clip(proba[np.arange(len(level)), level], 1e-6, 1 - 1e-6)
        doubt = (level != proba.argmax(axis=1)).astype(float)
        return np.column_stack([np.log(p / (1 - p)), doubt])

    def fit(self, proba: np.ndarray, level: np.ndarray, correct: np.ndarray) -> Calibrator:
        self.model.fit(self._inputs(proba, level), correct.astype(int))
        return self

    def predict(self, proba: np.ndarray, level: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.model.predict_proba(self._inputs(proba, level))[:, 1]
        return out


@dataclass(frozen=True)
class RubricModel:
    levels: LevelModel
    calibrator: Calibrator

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(level index, calibrated confidence, level probabilities) for each row."""
        proba = self.levels.proba(x)
        level = choose_levels(proba)
        confidence = self.calibrator.predict(proba, level)
        return level, confidence, proba


def fit_rubric_model(rows: Rows, c: float = C) -> RubricModel:
    oof = out_of_question_proba(rows, c)
    level = choose_levels(oof)
    correct = (level == rows.y).astype(float)
    calibrator = Calibrator().fit(oof, level, correct)
    return RubricModel(LevelModel(c).fit(rows.x, rows.y, rows.weights), calibrator)


@lru_cache(maxsize=1)
def shipped_model() -> RubricModel:
    return fit_rubric_model(training_rows())
