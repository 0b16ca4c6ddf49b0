"""Ability (theta) estimation under the two-parameter logistic IRT model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# Expected-a-posteriori quadrature: a standard-normal prior on [-4, 4] is the usual choice in IRT.
QUADRATURE_POINTS = np.linspace(-4.0, 4.0, 81)


@dataclass(frozen=True)
class ItemParams:
    difficulty: float
    discrimination: float = 1.0
    guessing: float = 0.0


@dataclass(frozen=True)
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


def estimate_ability(responses: Sequence[bool], items: Sequence[ItemParams]) -> AbilityEstimate:
    """EAP estimate of theta; unlike maximum likelihood it stays finite for all-right/all-wrong."""
    if len(responses) != len(items):
        raise ValueError(f"{len(responses)} responses but {len(items)} items")
    prior = np.exp(-0.5 * QUADRATURE_POINTS**2)
    likelihood = np.ones_like(QUADRATURE_POINTS)
    for correct, item in zip(responses, items, strict=True):
        p = probability_correct(QUADRATURE_POINTS, item)
        likelihood *= p if correct else 1.0 - p
    posterior = prior * likelihood
    posterior /= posterior.sum()
    theta = float((QUADRATURE_POINTS * posterior).sum())
    variance = float(((QUADRATURE_POINTS - theta) ** 2 * posterior).sum())
    return AbilityEstimate(theta=theta, standard_error=variance**0.5, n_items=len(items))
