"""Learning from the author's reviews: a per-question model over the answers they graded.

Once a question has ``MIN_REVIEWS`` answers graded by its author (reviews of flagged grades),
a supervised model of that question joins the rubric grader (the ASAP short-answer recipe):
logistic regression over character 2-5-grams and word 1-2-grams (TF-IDF) of the reviewed
answers plus the rubric features. Its level probabilities are blended with the rubric model's,
the reviewed model's weight growing with the number of reviews, ``n / (n + REVIEW_PRIOR)``:
a few reviews nudge the grade, many reviews take over. The model answers count as full-mark
examples. ``benchmarks/grader.py`` measures the gain after 10, 20 and 40 reviews on the
held-out questions (``REVIEW_PRIOR`` was chosen on the training questions).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import FeatureUnion  # type: ignore[import-untyped]

from repo_ai.grading_features import vector
from repo_ai.grading_model import LEVELS, choose_levels, shipped_model
from repo_ai.grading_rubric import Rubric
from repo_ai.grading_text import normalise

#: Fewer reviews than this: the rubric model grades alone.
MIN_REVIEWS = 10
#: Pseudo-count of the rubric model in the blend (chosen on the training questions).
REVIEW_PRIOR = 10.0
#: Weight of the n-gram block against the rubric block in the reviewed model's input.
NGRAM_WEIGHT = 0.3
#: Inverse regularisation of the reviewed model.
REVIEW_C = 1.0


class ReviewedModel:
    def __init__(self, rubric: Rubric, reviewed: tuple[tuple[str, float], ...]) -> None:
        self.rubric = rubric
        texts = [text for text, _ in reviewed] + list(rubric.reference_answers)
        levels = [_level(f) for _, f in reviewed] + [2] * len(rubric.reference_answers)
        self.weight = len(reviewed) / (len(reviewed) + REVIEW_PRIOR)
        self.ngrams = FeatureUnion(
            [
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
                ),
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ]
        )
        self.classes = sorted(set(levels))
        self.model: LogisticRegression | None = None
        if len(self.classes) > 1:
            self.model = LogisticRegression(C=REVIEW_C, max_iter=2000)
            self.model.fit(self._x(texts, fit=True), levels)

    def _x(self, texts: list[str], *, fit: bool = False) -> sparse.csr_matrix:
        docs = [normalise(t) for t in texts]
        grams = self.ngrams.fit_transform(docs) if fit else self.ngrams.transform(docs)
        x = np.array([vector(self.rubric, t) for t in texts])
        logp = np.log(np.clip(shipped_model().levels.proba(x), 1e-4, 1.0))
        rubric = sparse.csr_matrix(np.hstack([x, logp]))
        return sparse.hstack([grams * NGRAM_WEIGHT, rubric]).tocsr()

    def proba(self, answer: str) -> np.ndarray:
        rubric_proba = shipped_model().levels.proba(vector(self.rubric, answer))[0]
        reviewed = np.zeros(len(LEVELS))
        if self.model is None:
            reviewed[self.classes[0]] = 1.0
        else:
            reviewed[self.model.classes_] = self.model.predict_proba(self._x([answer]))[0]
        out: np.ndarray = self.weight * reviewed + (1 - self.weight) * rubric_proba
        return out

    def predict(self, answer: str) -> tuple[int, float, np.ndarray]:
        """(level index, confidence, level probabilities). The confidence is the rubric
        model's calibration applied to the blended probability of the chosen level."""
        proba = self.proba(answer)
        level = int(choose_levels(proba[None, :])[0])
        confidence = float(shipped_model().calibrator.predict(proba[None, :], np.array([level]))[0])
        return level, confidence, proba


def _level(fraction: float) -> int:
    """The nearest level index of a reviewer's share of the points."""
    return int(np.argmin([abs(fraction - v) for v in LEVELS]))


@lru_cache(maxsize=256)
def _cached(
    refs: tuple[str, ...], keywords: tuple[str, ...], reviewed: tuple[tuple[str, float], ...]
) -> ReviewedModel:
    return ReviewedModel(Rubric.of("\n\n".join(refs), list(keywords)), reviewed)


def question_model(rubric: Rubric, reviewed: tuple[tuple[str, float], ...]) -> ReviewedModel | None:
    """The question's reviewed model, or None below ``MIN_REVIEWS`` reviews."""
    if len(reviewed) < MIN_REVIEWS:
        return None
    return _cached(tuple(rubric.reference_answers), tuple(rubric.raw_keywords), reviewed)
