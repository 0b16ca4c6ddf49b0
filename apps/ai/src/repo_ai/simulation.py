"""Simulated learners with known abilities and items with known parameters: the ground truth that
calibration, ability estimation and adaptive selection are validated against."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from repo_ai.calibration import eap_batch, fit_2pl
from repo_domain.cat import (
    Bank,
    ExposureLedger,
    Policy,
    Reason,
    exposure_parameters,
    next_item,
)
from repo_domain.irt import AbilityEstimate, ItemParams, estimate_ability, probability_correct


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
    selection from the whole bank with repo_domain.cat (no length cap, no exposure control),
    stopping at the fixed form's mean SE.
    """
    rng = np.random.default_rng(seed)
    sim = simulate(n_learners=n_learners, n_items=bank_size, per_learner=1, seed=seed)
    a, b, truth = sim.discrimination, sim.difficulty, sim.theta
    params = {i: ItemParams(float(b[i]), float(a[i])) for i in range(bank_size)}
    bank = Bank.from_params(params)

    def answer(theta: float, i: int) -> bool:
        return bool(rng.random() < 1.0 / (1.0 + np.exp(-a[i] * (theta - b[i]))))

    form = sorted(rng.choice(bank_size, fixed_length, replace=False).tolist())
    fixed = [
        estimate_ability([answer(t, i) for i in form], [params[i] for i in form]) for t in truth
    ]
    target = float(np.mean([e.standard_error for e in fixed]))
    policy = Policy(target_se=target, min_length=1, max_length=bank_size, max_exposure=None)
    runs = [
        run_adaptive(bank, policy, float(t), answer=answer, key=(j,)) for j, t in enumerate(truth)
    ]
    lengths = [len(r.asked) for r in runs]
    ses = [r.estimate.standard_error for r in runs]
    thetas = [r.estimate.theta for r in runs]
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


@dataclass(frozen=True)
class AdaptiveRun:
    """One simulated learner's adaptive test: the bank indices served, in order, and the end."""

    asked: list[int]
    estimate: AbilityEstimate
    reason: Reason


def run_adaptive(
    bank: Bank,
    policy: Policy,
    theta: float,
    *,
    answer: Callable[[float, int], bool],
    key: tuple[int, ...],
    k: np.ndarray | None = None,
    ledger: ExposureLedger | None = None,
) -> AdaptiveRun:
    """One learner through ``repo_domain.cat.next_item``, the function every real attempt's
    next question comes from (``key`` plays the attempt id); with a ``ledger``, the learner's
    attempt is counted as started and each question claimed under the hard exposure cap, as
    ``repo_domain.adaptive.serve`` does on the database."""
    asked: list[int] = []
    scored: dict[int, bool] = {}
    claim = None
    if ledger is not None:
        ledger.start()
        claim = ledger.claim
    while True:
        pick, reason = next_item(
            bank, asked=asked, scored=scored, policy=policy, k=k, key=key, claim=claim
        )
        if pick is None:
            break
        asked.append(pick)
        scored[pick] = answer(theta, pick)
    estimate = estimate_ability([scored[i] for i in asked], [bank.item(i) for i in asked])
    return AdaptiveRun(asked, estimate, reason)


@dataclass(frozen=True)
class ExposureReport:
    """Many simulated learners through one adaptive policy: length, accuracy and exposure."""

    lengths: np.ndarray
    rmse: float
    bias: float
    exposure: np.ndarray  # per item: the share of learners it was served to
    reasons: dict[str, int]

    @property
    def max_exposure(self) -> float:
        return float(self.exposure.max())


def exposure_run(
    bank: Bank,
    policy: Policy,
    thetas: np.ndarray,
    *,
    seed: int = 0,
    hard_cap: bool = True,
    parameters: Callable[[Bank, Policy], NDArray[np.float64] | None] = exposure_parameters,
) -> ExposureReport:
    """``thetas`` learners (true abilities) one after the other through the adaptive test under
    ``policy``, with the exposure-control parameters the platform fits for it (``parameters``:
    e.g. ``repo_domain.cat.provisional_parameters``, served until a fit is stored) and its hard
    cap counted from the first learner on (``hard_cap=False``: Sympson-Hetter alone); answers
    drawn under the 2PL/3PL."""
    rng = np.random.default_rng(seed)
    k = parameters(bank, policy)
    ledger = ExposureLedger.empty(len(bank), policy.max_exposure) if hard_cap else None

    def answer(theta: float, i: int) -> bool:
        return bool(rng.random() < float(probability_correct(theta, bank.item(i))))

    runs = [
        run_adaptive(bank, policy, float(t), answer=answer, key=(seed, j), k=k, ledger=ledger)
        for j, t in enumerate(thetas)
    ]
    counts = np.zeros(len(bank))
    for run in runs:
        counts[run.asked] += 1
    errors = np.array([r.estimate.theta for r in runs]) - thetas
    reasons: dict[str, int] = {}
    for run in runs:
        reasons[run.reason] = reasons.get(run.reason, 0) + 1
    return ExposureReport(
        lengths=np.array([len(r.asked) for r in runs]),
        rmse=float(np.sqrt((errors**2).mean())),
        bias=float(errors.mean()),
        exposure=counts / len(thetas),
        reasons=reasons,
    )


def simulated_bank(n_items: int, *, seed: int = 0) -> Bank:
    """The item parameters ``simulate`` draws, as a bank for adaptive simulations."""
    sim = simulate(n_learners=1, n_items=n_items, per_learner=1, seed=seed)
    return Bank.from_params(
        {
            i: ItemParams(float(sim.difficulty[i]), float(sim.discrimination[i]))
            for i in range(n_items)
        }
    )
