"""Agreement of a grader with the human scores of a labelled set (used by the benchmark and tests).

A grader is any ``(rubric, answer) -> (fraction, confidence)``. The labelled set is split three
ways: ``train`` (the answers the shipped model is fitted on), ``heldout_answers`` (held-out
answers of the training questions) and ``unseen`` (every answer of the held-out questions; it
has been looked at while tuning, so it is now the development split). The ``sealed`` split
(``repo_ai/data/grading_sealed.json``, 3 more questions in other subjects) was written and
committed before the last round of tuning and is graded once, for the final report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from repo_ai.grading_rubric import Rubric

Grader = Callable[[Rubric, str], tuple[float, float]]
SPLITS = ("train", "heldout_answers", "unseen", "sealed")
#: Confidence bins of the reliability table.
BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


@dataclass(frozen=True)
class Item:
    question: str
    rubric: Rubric
    text: str
    score: float
    cls: str
    split: str


def items(data: dict[str, Any]) -> list[Item]:
    out: list[Item] = []
    for q in data["questions"]:
        rubric = Rubric.of(q["reference_answer"], q["rubric_keywords"])
        for a in q["answers"]:
            split = (
                q["split"]  # "sealed": grading_sealed.json
                if q["split"] not in ("heldout", "train")
                else (
                    "unseen"
                    if q["split"] == "heldout"
                    else "heldout_answers" if a["heldout"] else "train"
                )
            )
            out.append(Item(q["key"], rubric, a["text"], a["score"], a["class"], split))
    return out


@dataclass
class Report:
    n: int
    accuracy: float
    qwk: float
    credit: dict[str, float]  # mean fraction of the points per class
    flagged: float  # share with confidence below the review threshold
    reliability: list[tuple[float, float, int, float, float]] = field(default_factory=list)


def qwk(human: Iterable[float], machine: Iterable[float]) -> float:
    from sklearn.metrics import cohen_kappa_score  # type: ignore[import-untyped]

    h = [round(v * 2) for v in human]
    m = [round(v * 2) for v in machine]
    return float(cohen_kappa_score(h, m, weights="quadratic", labels=[0, 1, 2]))


def evaluate(grader: Grader, subset: list[Item], threshold: float) -> Report:
    graded = [grader(it.rubric, it.text) for it in subset]
    fractions = [g[0] for g in graded]
    confidences = np.array([g[1] for g in graded])
    human = [it.score for it in subset]
    right = np.array([f == h for f, h in zip(fractions, human, strict=True)])
    by_class: dict[str, list[float]] = defaultdict(list)
    for it, f in zip(subset, fractions, strict=True):
        by_class[it.cls].append(f)
    reliability = []
    for lo, hi in pairwise(BINS):
        mask = (confidences >= lo) & (confidences < hi)
        if mask.any():
            reliability.append(
                (
                    lo,
                    min(hi, 1.0),
                    int(mask.sum()),
                    float(confidences[mask].mean()),
                    float(right[mask].mean()),
                )
            )
    return Report(
        n=len(subset),
        accuracy=float(right.mean()) if len(subset) else float("nan"),
        qwk=qwk(human, fractions),
        credit={c: float(np.mean(v)) for c, v in sorted(by_class.items())},
        flagged=float((confidences < threshold).mean()) if len(subset) else float("nan"),
        reliability=reliability,
    )


def expected_calibration_error(report: Report) -> float:
    total = sum(r[2] for r in report.reliability)
    return sum(r[2] * abs(r[3] - r[4]) for r in report.reliability) / total if total else 0.0
