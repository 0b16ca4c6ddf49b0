"""Review groups: flagged answers to one question that say the same thing share a cluster key,
so the author grades them with one decision (repo_domain.review_groups).

Why here and not in the domain: the worker flags the answers, has them in hand, and has
scikit-learn in its resolve; the domain may not import apps/ai, and the API and web should not
load a text model to draw a page. The domain only groups by the stored key.

Near-duplicate is meaning-light on purpose: the same text once case, accents, punctuation and
spacing are normalised, or a TF-IDF cosine of character 2-4-grams (within word boundaries) of at
least ``THRESHOLD``. Character n-grams absorb a typo or a small change of wording ("funtion",
"a list"/"the list") without any language model, and stay low between answers that claim
different things; a decision is then applied to answers that differ in spelling, not in what
they claim. The threshold was chosen on hand-labelled answer sets
(benchmarks/review_groups.py; docs/benchmarks.md, "Review groups").

A cluster's key is the response id of its first answer. Each new answer joins the cluster of its
most similar pending answer when that similarity reaches the threshold, else starts its own.
Two workers grading near-duplicates of one question at the same moment may start two clusters:
harmless, the author sees two groups.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from repo_db.models import Feedback, Response

#: Cosine similarity from which two answers are one group (see the module docstring).
THRESHOLD = 0.8
_NOT_WORD = re.compile(r"[^\w]+")


def normalise(text: str) -> str:
    """Lower case, no accents, punctuation and runs of spaces as one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", plain).strip()


@dataclass(frozen=True, slots=True)
class Member:
    """A pending answer already in a cluster."""

    response_id: int
    text: str
    cluster: int


def assign(
    existing: Sequence[Member], new: Sequence[tuple[int, str]], *, threshold: float = THRESHOLD
) -> dict[int, int]:
    """The cluster key of each new answer (response id -> key), given the question's pending
    answers that have one. New answers are assigned in order and may join each other."""
    if not new:
        return {}
    texts = [normalise(m.text) for m in existing] + [normalise(text) for _, text in new]
    vectors = _vectors(texts)
    clusters = [m.cluster for m in existing]
    by_text = dict(zip(texts[: len(existing)], clusters, strict=True))
    out: dict[int, int] = {}
    for offset, (response_id, _) in enumerate(new):
        row = len(existing) + offset
        key = by_text.get(texts[row])
        if key is None and vectors is not None and row > 0:
            similarity = (vectors[:row] @ vectors[row].T).toarray().ravel()
            best = int(np.argmax(similarity))
            if similarity[best] >= threshold:
                key = clusters[best]
        if key is None:
            key = response_id
        clusters.append(key)
        by_text.setdefault(texts[row], key)
        out[response_id] = key
    return out


def _vectors(texts: list[str]) -> csr_matrix | None:
    """L2-normalised TF-IDF rows (sparse CSR); None when no text has a character n-gram."""
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    try:
        return csr_matrix(vectorizer.fit_transform(texts))
    except ValueError:  # empty vocabulary: every text is empty
        return None


def assign_review_clusters(session: Session, flagged: Sequence[tuple[Feedback, Response]]) -> None:
    """Give each newly flagged grade its cluster key, per question, against the question's
    answers already waiting for review."""
    by_question: dict[int, list[tuple[Feedback, Response]]] = {}
    for feedback, response in flagged:
        by_question.setdefault(response.question_id, []).append((feedback, response))
    for question_id, items in by_question.items():
        new_ids = [feedback.id for feedback, _ in items]
        existing = [
            Member(response_id=r.response_id, text=r.text_value or "", cluster=r.cluster)
            for r in session.execute(
                select(
                    Feedback.response_id,
                    Response.text_value,
                    Feedback.cluster,
                )
                .join(Response, Response.id == Feedback.response_id)
                .where(
                    Response.question_id == question_id,
                    Feedback.needs_review.is_(True),
                    Feedback.cluster.is_not(None),
                    Feedback.id.not_in(new_ids),
                )
                .order_by(Feedback.id)
            )
        ]
        keys = assign(existing, [(r.id, r.text_value or "") for _, r in items])
        for feedback, response in items:
            feedback.cluster = keys[response.id]
    session.flush()


__all__ = ["THRESHOLD", "Member", "assign", "assign_review_clusters", "normalise"]
