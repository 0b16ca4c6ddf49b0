"""Simulated learners with known abilities and items with known parameters: the ground truth that
calibration, ability estimation and adaptive selection are validated against."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from repo_ai.calibration import eap_batch, fit_2pl
from repo_domain.adaptive import most_informative
from repo_domain.irt import ItemParams, estimate_ability


@dataclass(frozen=True)
class Simulated:
    discrimination: np.ndarray
    difficulty: np.ndarray
    theta: np.ndarray
    learner: np.ndarray
    item: np.ndarray
    correct: np.ndarray


def simulate(*, n_learners: int, n_items: int, per_learner: int, seed: int = 0) -> Simulated:
    """Each learner answers ``per_learner`` distinct random items under the 2PL model."""
    rng = np.random.default_rng(seed)
    discrimination = np.clip(rng.lognormal(0.1, 0.35, n_items), 0.35, 3.0)
    difficulty = rng.normal(0.0, 1.0, n_items)
    theta = rng.normal(0.0, 1.0, n_learners)
    learner = np.repeat(np.arange(n_learners), per_learner)
    if per_learner >= n_items:
        item = np.tile(np.arange(n_items), n_learners)
        learner = np.repeat(np.arange(n_learners), n_items)
    else:
        # argsort of random keys: a distinct random subset per learner, vectorised.
        keys = rng.random((n_learners, n_items))
        item = np.argsort(keys, axis=1)[:, :per_learner].ravel()
    p = 1.0 / (1.0 + np.exp(-discrimination[item] * (theta[learner] - difficulty[item])))
    correct = rng.random(p.size) < p
    return Simulated(discrimination, difficulty, theta, learner, item.astype(np.int64), correct)


@dataclass(frozen=True)
class RecoveryReport:
    n_learners: int
    n_items: int
    per_learner: int
    difficulty_r: float
    discrimination_r: float
    ability_r: float
    mean_ability_se: float
    seconds: float
    iterations: int


def recovery(
    *, n_learners: int = 1000, n_items: int = 40, per_learner: int = 40, seed: int = 0
) -> RecoveryReport:
    """Calibrate simulated answers, then compare parameters and abilities with the truth."""
    sim = simulate(n_learners=n_learners, n_items=n_items, per_learner=per_learner, seed=seed)
    started = time.perf_counter()
    fit = fit_2pl(sim.learner, sim.item, sim.correct, n_items=n_items)
    seconds = time.perf_counter() - started
    theta, se = eap_batch(
        sim.learner,
        sim.item,
        sim.correct,
        discrimination=fit.discrimination,
        difficulty=fit.difficulty,
    )
    return RecoveryReport(
        n_learners=n_learners,
        n_items=n_items,
        per_learner=min(per_learner, n_items),
        difficulty_r=float(np.corrcoef(fit.difficulty, sim.difficulty)[0, 1]),
        discrimination_r=float(np.corrcoef(fit.discrimination, sim.discrimination)[0, 1]),
        ability_r=float(np.corrcoef(theta, sim.theta)[0, 1]),
        mean_ability_se=float(se.mean()),
        seconds=seconds,
        iterations=fit.iterations,
    )


@dataclass(frozen=True)
class AdaptiveReport:
    n_learners: int
    bank_size: int
    fixed_length: int
    fixed_se: float
    adaptive_mean_items: float
    adaptive_max_items: int
    adaptive_se: float
    reached_target: float
    adaptive_ability_r: float
    fixed_ability_r: float

    @property
    def share_of_fixed(self) -> float:
        return self.adaptive_mean_items / self.fixed_length


def adaptive_vs_fixed(
    *, n_learners: int = 1000, bank_size: int = 200, fixed_length: int = 30, seed: int = 0
) -> AdaptiveReport:
    """A fixed form (the same ``fixed_length`` random items for everyone) against adaptive
    selection from the whole bank with repo_domain.adaptive, stopping at the fixed form's mean SE.
    """
    rng = np.random.default_rng(seed)
    sim = simulate(n_learners=n_learners, n_items=bank_size, per_learner=1, seed=seed)
    a, b, truth = sim.discrimination, sim.difficulty, sim.theta
    bank = {i: ItemParams(float(b[i]), float(a[i])) for i in range(bank_size)}

    def answer(theta: float, i: int) -> bool:
        return bool(rng.random() < 1.0 / (1.0 + np.exp(-a[i] * (theta - b[i]))))

    form = sorted(rng.choice(bank_size, fixed_length, replace=False).tolist())
    fixed = [estimate_ability([answer(t, i) for i in form], [bank[i] for i in form]) for t in truth]
    target = float(np.mean([e.standard_error for e in fixed]))
    lengths, ses, thetas = [], [], []
    for t in truth:
        remaining = dict(bank)
        asked: list[int] = []
        answers: list[bool] = []
        estimate = estimate_ability([], [])
        while remaining and (not asked or estimate.standard_error > target):
            pick = most_informative(estimate.theta, remaining)
            assert pick is not None
            del remaining[pick]
            asked.append(pick)
            answers.append(answer(t, pick))
            estimate = estimate_ability(answers, [bank[i] for i in asked])
        lengths.append(len(asked))
        ses.append(estimate.standard_error)
        thetas.append(estimate.theta)
    return AdaptiveReport(
        n_learners=n_learners,
        bank_size=bank_size,
        fixed_length=fixed_length,
        fixed_se=target,
        adaptive_mean_items=float(np.mean(lengths)),
        adaptive_max_items=int(np.max(lengths)),
        adaptive_se=float(np.mean(ses)),
        reached_target=float(np.mean(np.array(ses) <= target)),
        adaptive_ability_r=float(np.corrcoef(thetas, truth)[0, 1]),
        fixed_ability_r=float(np.corrcoef([e.theta for e in fixed], truth)[0, 1]),
    )
