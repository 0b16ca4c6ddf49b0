from __future__ import annotations

import math

import pytest

from repo_ai.ability import ItemParams, estimate_ability, probability_correct

ITEMS = [ItemParams(difficulty=b) for b in (-1.5, -0.5, 0.0, 0.5, 1.5)]


def test_probability_is_one_half_at_difficulty_for_2pl() -> None:
    assert float(probability_correct(0.7, ItemParams(difficulty=0.7, discrimination=1.8))) == 0.5


def test_guessing_sets_the_lower_asymptote() -> None:
    p = float(probability_correct(-50.0, ItemParams(difficulty=0.0, guessing=0.25)))
    assert math.isclose(p, 0.25, abs_tol=1e-9)


def test_more_correct_answers_mean_higher_ability() -> None:
    thetas = [
        estimate_ability([i < k for i in range(5)], ITEMS).theta for k in range(len(ITEMS) + 1)
    ]
    assert thetas == sorted(thetas)
    assert thetas[0] < -0.5 < 0.5 < thetas[-1]


def test_estimates_stay_finite_and_symmetric_at_the_extremes() -> None:
    low = estimate_ability([False] * 5, ITEMS)
    high = estimate_ability([True] * 5, ITEMS)
    assert math.isclose(low.theta, -high.theta, abs_tol=1e-9)
    assert 0 < high.standard_error < 1
    assert high.n_items == 5


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="2 responses but 5 items"):
        estimate_ability([True, False], ITEMS)
