"""The free-text grader as it was on main before issue 18 (keyword coverage 0.6 + n-gram
similarity), kept unchanged as a baseline for benchmarks/grader.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sklearn.feature_extraction.text import HashingVectorizer  # type: ignore[import-untyped]

MODEL_VERSION = "rubric-tfidf-1"
KEYWORD_WEIGHT = 0.6
#: Character-n-gram cosine between unrelated English sentences is mostly below 0.2.
CHAR_FLOOR, CHAR_SPAN = 0.20, 0.45
WORD_FLOOR, WORD_SPAN = 0.05, 0.45
#: score < PARTIAL -> 0 points; < FULL -> half the points; else full points.
PARTIAL_THRESHOLD = 0.22
FULL_THRESHOLD = 0.6
#: How far from a threshold a score must be for full confidence.
CONFIDENCE_MARGIN = 0.15
#: Below this confidence a grade goes to the review queue.
DEFAULT_REVIEW_THRESHOLD = 0.6
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Rubric:
    reference_answers: list[str]
    keywords: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, reference_answer: str | None, keywords: list[str] | None) -> Rubric:
        refs = [r.strip() for r in (reference_answer or "").split("\n\n") if r.strip()]
        return cls(reference_answers=refs, keywords=list(keywords or []))


@dataclass(frozen=True, slots=True)
class Grade:
    fraction: float  # 0, 0.5 or 1: the share of the question's points
    score: float  # the continuous score in [0, 1] the level was taken from
    confidence: float
    coverage: float | None
    similarity: float
    matched: list[str]
    missing: list[str]
    feedback: str


def _normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _keyword_hits(answer: str, keywords: list[str]) -> tuple[list[str], list[str]]:
    text = _normalise(answer)
    matched: list[str] = []
    missing: list[str] = []
    for group in keywords:
        alternatives = [_normalise(a) for a in group.split("|") if _normalise(a)]
        label = alternatives[0] if alternatives else group
        found = any(re.search(rf"\b{re.escape(alt)}[a-z]{{0,3}}\b", text) for alt in alternatives)
        (matched if found else missing).append(label)
    return matched, missing


# Stateless hashing (no vocabulary to fit): the same answer always maps to the same vector, and a
# rubric's reference vectors can be cached. Binary term presence dampens repeated words.
_CHARS = HashingVectorizer(
    analyzer="char_wb", ngram_range=(3, 5), alternate_sign=False, binary=True, n_features=2**18
)
_WORDS = HashingVectorizer(
    stop_words="english", ngram_range=(1, 2), alternate_sign=False, binary=True, n_features=2**18
)


@lru_cache(maxsize=1024)
def _reference_vectors(references: tuple[str, ...]) -> tuple[Any, Any]:
    docs = [_normalise(r) for r in references]
    return _CHARS.transform(docs), _WORDS.transform(docs)


def _similarities(answer: str, references: tuple[str, ...]) -> tuple[float, float]:
    """Cosine similarity (vectors are L2-normalised) of the answer with its closest reference."""
    chars, words = _reference_vectors(references)
    doc = [_normalise(answer)]
    char_sim = float((chars @ _CHARS.transform(doc).T).toarray().max())
    word_sim = float((words @ _WORDS.transform(doc).T).toarray().max())
    return char_sim, word_sim


def _rescale(value: float, floor: float, span: float) -> float:
    return min(max((value - floor) / span, 0.0), 1.0)


def grade_answer(rubric: Rubric, answer: str) -> Grade:
    """Grade one answer against a rubric (no database, no state)."""
    if not _normalise(answer):
        return Grade(0.0, 0.0, 1.0, 0.0, 0.0, [], list(rubric.keywords), "No answer was given.")
    references = tuple(rubric.reference_answers or [" ".join(rubric.keywords)])
    char_sim, word_sim = _similarities(answer, references)
    similarity = max(
        _rescale(char_sim, CHAR_FLOOR, CHAR_SPAN), _rescale(word_sim, WORD_FLOOR, WORD_SPAN)
    )
    matched, missing = _keyword_hits(answer, rubric.keywords)
    coverage = len(matched) / len(rubric.keywords) if rubric.keywords else None
    if coverage is None:
        score = similarity
    else:
        score = KEYWORD_WEIGHT * coverage + (1.0 - KEYWORD_WEIGHT) * similarity
    fraction = 0.0 if score < PARTIAL_THRESHOLD else 0.5 if score < FULL_THRESHOLD else 1.0
    margin = min(abs(score - PARTIAL_THRESHOLD), abs(score - FULL_THRESHOLD))
    confidence = 0.5 + 0.5 * min(margin / CONFIDENCE_MARGIN, 1.0)
    if coverage is not None and abs(coverage - similarity) > 0.6:
        confidence -= 0.2  # keywords and wording disagree: a human should look
    confidence = round(min(max(confidence, 0.0), 1.0), 3)
    return Grade(
        fraction=fraction,
        score=round(score, 4),
        confidence=confidence,
        coverage=coverage,
        similarity=round(similarity, 4),
        matched=matched,
        missing=missing,
        feedback=_feedback(fraction, coverage, similarity, len(matched), len(rubric.keywords)),
    )


def _feedback(
    fraction: float, coverage: float | None, similarity: float, matched: int, total: int
) -> str:
    """The learner-facing explanation: how much of the rubric the answer covers, never which
    keywords (naming a missing one hands over the rubric, and a retake with it scores full)."""
    verdict = {1.0: "Full marks.", 0.5: "Partly right.", 0.0: "Not yet right."}[fraction]
    parts = [verdict]
    if coverage is not None:
        parts.append(f"Covers {matched} of {total} key ideas.")
    closeness = (
        "close to" if similarity >= 0.6 else "partly like" if similarity >= 0.3 else "unlike"
    )
    parts.append(f"Wording {closeness} the model answer (similarity {similarity:.2f}).")
    return " ".join(parts)
