"""Item response theory maths shared by the apps: 2PL/3PL probabilities, Fisher information and
expected-a-posteriori (EAP) ability estimates.

It lives here, not in apps/ai, because the learner flow (API, web UI) picks adaptive questions
with it; apps/ai calibrates the item parameters that these functions read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# Expected-a-posteriori quadrature: a standard-normal prior on [-4, 4] is the usual choice in IRT.
QUADRATURE_POINTS = np.linspace(-4.0, 4.0, 81)
#: Parameters assumed for a question that has not been calibrated yet.
UNCALIBRATED_DIFFICULTY = 0.0
UNCALIBRATED_DISCRIMINATION = 1.0


@dataclass(frozen=True, slots=True)
class ItemParams:
    difficulty: float
    discrimination: float = UNCALIBRATED_DISCRIMINATION
    guessing: float = 0.0


@dataclass(frozen=True, slots=True)
class AbilityEstimate:
    theta: float
    standard_error: float
    n_items: int


def probability_correct(
    theta: NDArray[np.float64] | float, item: ItemParams
) -> NDArray[np.float64]:
    """P(correct | theta) for a 3PL item (2PL when guessing is 0)."""
    logistic = 1.0 / (1.0 + np.exp(-item.discrimination * (np.asarray(theta) - item.difficulty)))
    return np.asarray(item.guessing + (1.0 - item.guessing) * logistic, dtype=np.float64)


def item_information(theta: float, item: ItemParams) -> float:
    """Fisher information of one item at ``theta`` (Birnbaum's 3PL formula; a²PQ for the 2PL)."""
    p = float(probability_correct(theta, item))
    p = min(max(p, 1e-12), 1.0 - 1e-12)
    c = item.guessing
    return float(item.discrimination**2 * ((p - c) / (1.0 - c)) ** 2 * (1.0 - p) / p)


def information_many(
    theta: float | NDArray[np.float64],
    discrimination: NDArray[np.float64],
    difficulty: NDArray[np.float64],
    guessing: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """``item_information`` for many items at once (arrays of parameters; an array of thetas
    broadcasts against them, e.g. learners x items)."""
    c = np.zeros_like(difficulty) if guessing is None else guessing
    logistic = 1.0 / (1.0 + np.exp(-discrimination * (theta - difficulty)))
    p = np.clip(c + (1.0 - c) * logistic, 1e-12, 1.0 - 1e-12)
    return np.asarray(discrimination**2 * ((p - c) / (1.0 - c)) ** 2 * (1.0 - p) / p)


def log_likelihood(responses: Sequence[bool], items: Sequence[ItemParams]) -> NDArray[np.float64]:
    """Log-likelihood of the answers at each quadrature point (shape: points)."""
    if not items:
        return np.zeros_like(QUADRATURE_POINTS)
    a = np.array([i.discrimination for i in items])[:, None]
    b = np.array([i.difficulty for i in items])[:, None]
    c = np.array([i.guessing for i in items])[:, None]
    p = c + (1.0 - c) / (1.0 + np.exp(-a * (QUADRATURE_POINTS[None, :] - b)))
    p = np.clip(p, 1e-12, 1.0 - 1e-12)
    right = np.array(responses, dtype=bool)[:, None]
    return np.asarray(np.where(right, np.log(p), np.log1p(-p)).sum(axis=0), dtype=np.float64)


def eap_many(
    log_likelihoods: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """EAP theta and SE for each row of log-likelihoods at the quadrature points (shape:
    learners x points), under the standard-normal prior. Simulations update the rows one answer
    at a time instead of recomputing every answer at every step."""
    log_posterior = -0.5 * QUADRATURE_POINTS[None, :] ** 2 + log_likelihoods
    posterior = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
    posterior /= posterior.sum(axis=1, keepdims=True)
    theta = (QUADRATURE_POINTS[None, :] * posterior).sum(axis=1)
    variance = ((QUADRATURE_POINTS[None, :] - theta[:, None]) ** 2 * posterior).sum(axis=1)
    return theta, np.sqrt(variance)


def estimate_ability(responses: Sequence[bool], items: Sequence[ItemParams]) -> AbilityEstimate:
    """EAP estimate of theta; unlike maximum likelihood it stays finite for all-right/all-wrong."""
    if len(responses) != len(items):
        raise ValueError(f"{len(responses)} responses but {len(items)} items")
    theta, se = eap_many(log_likelihood(responses, items)[None, :])
    return AbilityEstimate(theta=float(theta[0]), standard_error=float(se[0]), n_items=len(items))


__all__ = [
    "QUADRATURE_POINTS",
    "UNCALIBRATED_DIFFICULTY",
    "UNCALIBRATED_DISCRIMINATION",
    "AbilityEstimate",
    "ItemParams",
    "eap_many",
    "estimate_ability",
    "information_many",
    "item_information",
    "log_likelihood",
    "probability_correct",
]
