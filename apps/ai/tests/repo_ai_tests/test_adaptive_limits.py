"""Adaptive-test limits and exposure control (issue 18), simulated through the function every real
attempt's next question comes from (``repo_domain.cat.next_item``), with the policy an assessment
gets from ``repo_domain.adaptive.policy_for``, on a 120-item bank like the issue's.

Exposure: no tolerance. Sympson-Hetter spreads the exposure (the fit aims under the rate) and the
hard cap (``repo_domain.cat.exposure_cap``, counted in an ``ExposureLedger`` here as on the
database's counters) makes the configured rate a guarantee for every N >= (N0 - 1)/r.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from repo_ai.simulation import exposure_run, run_adaptive, simulated_bank
from repo_db.models import Assessment
from repo_domain.adaptive import (
    DEFAULT_MAX_EXPOSURE,
    EXPOSURE_MIN_POOL,
    default_max_length,
    policy_for,
)
from repo_domain.cat import (
    Bank,
    ExposureLedger,
    Policy,
    Reason,
    exposure_cap,
    exposure_parameters,
    may_serve,
    next_item,
    stop_reason,
    warmup,
)
from repo_domain.irt import ItemParams, probability_correct

BANK = simulated_bank(120, seed=0)
RATE = 0.3
LEARNERS = 500


def _policy(bank: Bank = BANK, **settings: float | int | None) -> Policy:
    """The policy a (transient) adaptive assessment with these settings runs under."""
    return policy_for(Assessment(adaptive=True, **settings), bank)


def _answers(seed: int) -> Callable[[float, int], bool]:
    rng = np.random.default_rng(seed)

    def answer(theta: float, i: int) -> bool:
        return bool(rng.random() < float(probability_correct(theta, BANK.item(i))))

    return answer


def test_defaults_follow_the_bank_and_the_target_se() -> None:
    policy = _policy()
    assert (policy.min_length, policy.target_se) == (1, 0.35)
    assert policy.max_exposure == DEFAULT_MAX_EXPOSURE  # 0.3 x 120 = 36 >= 10: on
    assert policy.max_length == default_max_length(BANK, target_se=0.35)
    assert 1 < policy.max_length < len(BANK)
    # A tighter target allows a longer test; a tiny one, the whole bank.
    assert default_max_length(BANK, target_se=0.25) > policy.max_length
    assert default_max_length(BANK, target_se=0.05) == len(BANK)
    # Explicit settings win.
    explicit = _policy(adaptive_min_length=5, adaptive_max_length=20, adaptive_max_exposure=0.2)
    assert (explicit.min_length, explicit.max_length, explicit.max_exposure) == (5, 20, 0.2)
    assert _policy(adaptive_max_exposure=1.0).max_exposure is None


def test_small_banks_have_no_exposure_control() -> None:
    """A rate x bank under EXPOSURE_MIN_POOL would leave too few questions to measure anyone."""
    six = Bank.from_params({i: ItemParams(float(i) - 3.0) for i in range(6)})
    assert _policy(six).max_exposure is None
    smallest = math.ceil(EXPOSURE_MIN_POOL / RATE)
    assert _policy(Bank.from_params({i: ItemParams(0.0) for i in range(smallest)})).max_exposure
    assert (
        _policy(Bank.from_params({i: ItemParams(0.0) for i in range(smallest - 1)})).max_exposure
        is None
    )


def test_stop_rules_in_order() -> None:
    policy = Policy(target_se=0.4, min_length=3, max_length=10, max_exposure=None)

    def why(n_asked: int, se: float, n_remaining: int = 50) -> Reason | None:
        return stop_reason(
            n_asked=n_asked,
            n_remaining=n_remaining,
            standard_error=se,
            n_scored=n_asked,
            policy=policy,
        )

    assert why(2, 0.1) is None  # precise enough, but under the minimum length
    assert why(3, 0.1) == Reason.TARGET_SE_REACHED
    assert why(9, 0.9) is None
    assert why(10, 0.9) == Reason.MAX_LENGTH_REACHED
    assert why(10, 0.3) == Reason.TARGET_SE_REACHED  # both: the more telling reason
    assert why(4, 0.9, n_remaining=0) == Reason.ALL_ANSWERED


@pytest.mark.parametrize("theta", [-3.8, 3.8])
def test_an_extreme_learner_stops_at_the_maximum_length(theta: float) -> None:
    policy = _policy()
    k = exposure_parameters(BANK, policy)
    answer = _answers(seed=int(abs(theta) * 10))
    for learner in range(5):
        run = run_adaptive(BANK, policy, theta, answer=answer, key=(learner,), k=k)
        assert run.reason == Reason.MAX_LENGTH_REACHED
        assert len(run.asked) == policy.max_length < len(BANK)
        assert len(set(run.asked)) == len(run.asked)
        assert run.estimate.standard_error > policy.target_se
    # An explicit maximum too, without exposure control.
    capped = _policy(adaptive_max_length=12, adaptive_max_exposure=1.0)
    run = run_adaptive(BANK, capped, theta, answer=answer, key=(0,))
    assert (run.reason, len(run.asked)) == (Reason.MAX_LENGTH_REACHED, 12)


def test_over_500_learners_no_question_exceeds_the_rate() -> None:
    thetas = np.random.default_rng(18).standard_normal(LEARNERS)
    controlled = exposure_run(BANK, _policy(adaptive_max_exposure=RATE), thetas, seed=18)
    print(
        f"max exposure {controlled.max_exposure:.3f}, mean length "
        f"{controlled.lengths.mean():.1f}, RMSE {controlled.rmse:.3f}, {controlled.reasons}"
    )
    assert controlled.max_exposure <= RATE
    assert controlled.reasons.get(Reason.EXPOSURE_LIMIT_REACHED, 0) <= LEARNERS // 50
    assert controlled.exposure.sum() == pytest.approx(controlled.lengths.mean())
    assert controlled.rmse < 0.45  # still a measurement
    # The same learners without exposure control: the check above can fail.
    free = exposure_run(BANK, _policy(adaptive_max_exposure=1.0), thetas, seed=18)
    assert free.max_exposure == 1.0  # everyone gets the same first question


def test_min_length_is_honoured() -> None:
    thetas = np.random.default_rng(5).standard_normal(60)
    loose = _policy(adaptive_target_se=0.8, adaptive_max_exposure=1.0)
    free = exposure_run(BANK, loose, thetas, seed=5)
    assert free.lengths.max() < 8  # an SE of 0.8 takes a few questions
    held = exposure_run(
        BANK, _policy(adaptive_target_se=0.8, adaptive_min_length=8), thetas, seed=5
    )
    assert held.lengths.min() == 8 and held.reasons == {Reason.TARGET_SE_REACHED: 60}


def test_draws_repeat_within_an_attempt_and_vary_across_attempts() -> None:
    policy = _policy()
    k = exposure_parameters(BANK, policy)
    assert k is not None and k.min() < 1.0

    def first(attempt_id: int) -> int | None:
        return next_item(BANK, asked=[], scored={}, policy=policy, k=k, key=(attempt_id,))[0]

    firsts = [first(attempt_id) for attempt_id in range(1, 301)]
    assert firsts == [first(attempt_id) for attempt_id in range(1, 301)]  # a reload: the same
    counts = np.bincount(np.array(firsts, dtype=int))
    assert len(np.flatnonzero(counts)) > 3
    assert counts.max() / len(firsts) <= RATE


def test_the_cap_bounds_every_count() -> None:
    """max(N0 - 1, floor(r N)) with N0 = ceil(1/r) (the smallest N with room for one learner):
    breaks if the cap were r N rounded up, or floor(r N) alone (nothing served below N0)."""
    assert [warmup(r) for r in (0.3, 0.25, 0.2, 0.5, 0.05)] == [4, 4, 5, 2, 20]
    assert [exposure_cap(0.3, n) for n in (1, 3, 4, 10, 13, 14, 500)] == [3, 3, 3, 3, 3, 4, 150]
    assert exposure_cap(None, 500) is None
    assert may_serve(2, 3) and not may_serve(3, 3) and may_serve(10**6, None)
    # The worst case for the bound: every learner asks for the same question.
    ledger = ExposureLedger.empty(1, RATE)
    for n in range(1, 301):
        ledger.start()
        ledger.claim(0)
        assert ledger.served[0] <= max(warmup(RATE) - 1, RATE * n)
        if n >= (warmup(RATE) - 1) / RATE:
            assert ledger.served[0] <= RATE * n
    assert ledger.served[0] == 90


def test_a_refused_claim_serves_the_next_question_or_stops() -> None:
    policy = Policy(target_se=0.3, min_length=5, max_length=20, max_exposure=None)
    best, _ = next_item(BANK, asked=[], scored={}, policy=policy, k=None, key=(1,))
    assert best is not None
    second, reason = next_item(
        BANK, asked=[], scored={}, policy=policy, k=None, key=(1,), claim=lambda i: i != best
    )
    assert reason == Reason.NEXT and second not in (None, best)
    # Nothing left under the cap: the test stops (before the minimum length), never over it.
    assert next_item(
        BANK, asked=[], scored={}, policy=policy, k=None, key=(1,), claim=lambda i: False
    ) == (None, Reason.EXPOSURE_LIMIT_REACHED)
