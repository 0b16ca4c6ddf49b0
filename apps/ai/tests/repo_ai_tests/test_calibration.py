"""Calibration and ability estimation against simulated truth, and against girth's MML."""

from __future__ import annotations

import numpy as np
from girth import twopl_mml  # type: ignore[import-untyped]

from repo_ai.calibration import fit_2pl
from repo_ai.simulation import adaptive_vs_fixed, recovery, simulate
from repo_domain.irt import ItemParams, estimate_ability


def test_recovers_known_parameters_and_abilities_with_40_items() -> None:
    report = recovery(n_learners=1000, n_items=40, per_learner=40, seed=3)
    print(report)
    assert report.difficulty_r >= 0.95
    assert report.discrimination_r >= 0.8
    assert report.ability_r >= 0.9


def test_sparse_answers_100_items_20_each() -> None:
    report = recovery(n_learners=5000, n_items=100, per_learner=20, seed=4)
    assert report.difficulty_r >= 0.95 and report.discrimination_r >= 0.8


def test_agrees_with_girth_on_dense_data() -> None:
    sim = simulate(n_learners=1000, n_items=20, per_learner=20, seed=5)
    ours = fit_2pl(sim.learner, sim.item, sim.correct, n_items=20)
    dense = np.zeros((20, 1000), dtype=int)
    dense[sim.item, sim.learner] = sim.correct
    theirs = twopl_mml(dense)
    assert np.corrcoef(ours.difficulty, theirs["Difficulty"])[0, 1] > 0.99
    assert np.corrcoef(ours.discrimination, theirs["Discrimination"])[0, 1] > 0.97
    assert np.abs(ours.difficulty - theirs["Difficulty"]).max() < 0.25


def test_standard_errors_cover_the_truth() -> None:
    sim = simulate(n_learners=2000, n_items=40, per_learner=40, seed=6)
    fit = fit_2pl(sim.learner, sim.item, sim.correct, n_items=40)
    covered_b = np.abs(fit.difficulty - sim.difficulty) <= 2 * fit.difficulty_se
    covered_a = np.abs(fit.discrimination - sim.discrimination) <= 2 * fit.discrimination_se
    # About 95% expected; a wide floor keeps the test from being flaky but catches nonsense SEs.
    assert covered_b.mean() >= 0.8 and covered_a.mean() >= 0.8
    assert (fit.difficulty_se < 0.5).all() and fit.converged


def test_batch_eap_matches_the_shared_estimator() -> None:
    sim = simulate(n_learners=20, n_items=10, per_learner=10, seed=8)
    from repo_ai.calibration import eap_batch

    theta, se = eap_batch(
        sim.learner,
        sim.item,
        sim.correct,
        discrimination=sim.discrimination,
        difficulty=sim.difficulty,
    )
    items = [
        ItemParams(float(b), float(a))
        for a, b in zip(sim.discrimination, sim.difficulty, strict=True)
    ]
    for learner in range(20):
        mask = sim.learner == learner
        one = estimate_ability(list(sim.correct[mask]), [items[i] for i in sim.item[mask]])
        assert abs(one.theta - theta[learner]) < 0.02
        assert abs(one.standard_error - se[learner]) < 0.02


def test_adaptive_reaches_the_fixed_form_precision_with_at_most_60_percent() -> None:
    report = adaptive_vs_fixed(n_learners=1000, bank_size=200, fixed_length=30, seed=9)
    print(
        f"fixed form 30 items, SE {report.fixed_se:.3f}; adaptive {report.adaptive_mean_items:.1f} "
        f"items on average ({100 * report.share_of_fixed:.0f}%), SE {report.adaptive_se:.3f}"
    )
    assert report.share_of_fixed <= 0.6
    assert report.reached_target >= 0.99
    assert report.adaptive_ability_r >= 0.9
