"""The rules of an adaptive test as pure functions: when to stop, which item comes next, the
exposure-control parameters that spread exposure, and the counting rule that caps it.

No database here: ``repo_domain.adaptive`` applies these rules to an attempt, and the same
functions drive the simulations (apps/ai ``repo_ai.simulation``, ``benchmarks/adaptive.py``).

**Why Sympson-Hetter, not randomesque.** The setting an author gives is a maximum exposure rate
r ("no question is seen by more than 30% of learners"). Randomesque (pick at random among the k
most informative) has no such parameter: it spreads the first item over k candidates, but an
item that is among the k best at many ability levels is still served to most learners (on a
120-item bank catsim's k=5 served one item to over 70% of learners; docs/benchmarks.md).
Sympson-Hetter (1985) states exactly the author's promise: each item i gets a probability K_i of
being administered when it is the most informative candidate; when the draw rejects it, the next
most informative candidate gets its own draw. The K_i are fitted by simulating this very
procedure on the assessment's bank (abilities from the standard-normal prior the EAP estimate
uses) so that every item's exposure sits a margin under r (``fit_target``; the method is
probabilistic: a cohort's realised rate scatters around its expectation, 0.286-0.304 over three
cohorts of 500 at r=0.3 before the cap below).

**The hard cap: counting, second stage.** Sympson-Hetter spreads the exposure; a count makes the
rate a guarantee. With N attempts started on the assessment, a question may be served only if
its count of learners served stays <= max(ceil(1/r) - 1, floor(r N)) (``exposure_cap``,
``may_serve``; within r N for every N >= 10 at r = 0.3): the most informative eligible question
whose claim fits is served, else the next one, and with none left the test stops
(``Reason.EXPOSURE_LIMIT_REACHED``). N only grows, so a count within the cap when claimed stays
within it. Counting used to be ruled out because the next
question would then depend on other learners: a page could show one question while the recount
served another. It is safe now because a served question is persisted on the attempt when it is
served (``repo_domain.adaptive.serve``, in the writing unit that saved the previous answer or
started the attempt) and claimed there once: reloads and a second tab read it back and claim
nothing, and the claim is one conditional statement on a counter row (``repo_db.exposure``), so
concurrent processes cannot overshoot. The simulations count in memory with the same rule
(``ExposureLedger``).

**Where the K_i come from.** The fit takes seconds (2-15 s for a 120-item bank), so it never
runs while a request holds a transaction: the AI worker fits once per bank and policy
(``fit_sympson_hetter``) after calibrating, or when a serve finds no fit, and stores the K_i
keyed by ``fit_key``. Until a fit for the current bank and policy is stored, an attempt is
served with ``provisional_parameters``: K_i = 1 for every item, i.e. the hard cap alone.
Measured against the other candidate, K_i = t for every item (docs/benchmarks.md, 120 items,
r = 0.3): the cap alone held the rate (0.300) with 16.7 questions per learner, RMSE 0.352 and
no test cut short, while K_i = t needed 24.9 questions, RMSE 0.374, and the cap stopped 87 of
1,500 tests early (a learner's eligible pool of about t x the bank runs dry under the caps).
The rate is the cap's guarantee either way; an attempt that gets the fitted K_i half-way is
served its next questions under them.

Within one attempt the Sympson-Hetter draws, one per item, are seeded by the attempt id, so two
learners with the same answers still get different questions. One draw per item and attempt is
Sympson-Hetter with its rule that an item rejected once stays rejected for that learner
(``eligible``); the fit simulates exactly that rule (without the cap, which only bites on the
cohorts whose realised exposure would overshoot).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from repo_domain.irt import (
    QUADRATURE_POINTS,
    ItemParams,
    eap_many,
    estimate_ability,
    information_many,
)

#: Mixed into every draw so that an attempt id alone does not tell which question comes next.
DRAW_SALT = 0x18CA7
#: Simulated learners and rounds of the Sympson-Hetter fit (2-15 s for a 120-item bank on a
#: 2-core machine; once per bank and policy, stored: see the module docstring).
FIT_LEARNERS = 500
FIT_ROUNDS = 12
#: Part of every ``fit_key``: raise it when the fit's rule changes, so stored fits are redone.
FIT_VERSION = 1
#: The fit aims 3 binomial standard deviations of a cohort of this many learners under the rate:
#: a fitted exposure is an expectation, and a real cohort scatters around it (SD 0.02 at r=0.3
#: and 500 learners), so aiming at r itself would put half the busiest items over it.
COHORT = 500


def fit_target(max_exposure: float) -> float:
    """The exposure the fit aims at for a maximum rate r: r - 3 sqrt(r(1-r)/COHORT), at least r/2
    (0.239 for r=0.3)."""
    spread = 3.0 * math.sqrt(max_exposure * (1.0 - max_exposure) / COHORT)
    return max(max_exposure - spread, max_exposure / 2)


def warmup(max_exposure: float) -> int:
    """N0 = ceil(1/r), the first N with floor(r N) >= 1. Below it r N < 1: any question served
    at all is over r N (the first learner's questions have exposure 1), so no count can be
    bounded by r N there; fewer than N0 learners can bring a count to N0 - 1 at most."""
    n = math.ceil(1.0 / max_exposure - 1e-9)  # 1/0.2 is 5.000000000000001 in floating point
    return n if math.floor(max_exposure * n) >= 1 else n + 1


def exposure_cap(max_exposure: float | None, n_started: int) -> int | None:
    """The most learners a question may have been served to once ``n_started`` attempts have
    started on the assessment: max(N0 - 1, floor(r N)) with N0 = ``warmup`` (None: no exposure
    control).

    Every claim is checked against it atomically, so every count is <= max(N0 - 1, r N) at all
    times, whatever the order in which concurrent claims land: within the rate for every
    N >= (N0 - 1)/r (10 attempts at r = 0.3). The floor N0 - 1 is what the warm-up costs: a cap
    of floor(r N) alone would serve nothing below N0 and squeeze the next learners (caps of 1-2
    at N = 4-9) for no better bound. Measured (docs/benchmarks.md) against a later warm-up,
    ceil(max length / r): that cut no test short but held the rate only from N of about 400."""
    if max_exposure is None:
        return None
    return max(warmup(max_exposure) - 1, math.floor(max_exposure * n_started))


def may_serve(served: int, cap: int | None) -> bool:
    """Whether a question served to ``served`` learners may be served once more under ``cap``
    (``repo_db.exposure.claim`` applies the same test in its UPDATE)."""
    return cap is None or served + 1 <= cap


@dataclass
class ExposureLedger:
    """The counters ``repo_db.exposure`` keeps, in memory, for simulations: attempts started
    and learners served per bank index, claimed under the same cap."""

    max_exposure: float | None
    served: NDArray[np.int64]
    started: int = 0

    @classmethod
    def empty(cls, n_items: int, max_exposure: float | None) -> ExposureLedger:
        return cls(max_exposure, np.zeros(n_items, dtype=np.int64))

    def start(self) -> None:
        self.started += 1

    def claim(self, index: int) -> bool:
        if not may_serve(int(self.served[index]), exposure_cap(self.max_exposure, self.started)):
            return False
        self.served[index] += 1
        return True


class Reason(StrEnum):
    """Why an adaptive attempt serves a question or stops."""

    NEXT = "next"
    TARGET_SE_REACHED = "target_se_reached"
    MAX_LENGTH_REACHED = "max_length_reached"
    ALL_ANSWERED = "all_answered"
    #: Every question the attempt could still be served is at its exposure cap (``may_serve``):
    #: the test stops, before the minimum length if need be, rather than exceed the rate.
    EXPOSURE_LIMIT_REACHED = "exposure_limit_reached"
    SUBMITTED = "submitted"


@dataclass(frozen=True, slots=True)
class Policy:
    """The limits one adaptive test runs under. ``max_exposure`` None: no exposure control."""

    target_se: float
    min_length: int
    max_length: int
    max_exposure: float | None


@dataclass(frozen=True)
class Bank:
    """Item parameters as arrays, in question-id order (ties in information go to the lowest id)."""

    ids: tuple[int, ...]
    discrimination: NDArray[np.float64]
    difficulty: NDArray[np.float64]
    guessing: NDArray[np.float64]

    @classmethod
    def from_params(cls, params: Mapping[int, ItemParams]) -> Bank:
        ids = tuple(sorted(params))
        return cls(
            ids=ids,
            discrimination=np.array([params[q].discrimination for q in ids], dtype=np.float64),
            difficulty=np.array([params[q].difficulty for q in ids], dtype=np.float64),
            guessing=np.array([params[q].guessing for q in ids], dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def item(self, index: int) -> ItemParams:
        return ItemParams(
            float(self.difficulty[index]),
            float(self.discrimination[index]),
            float(self.guessing[index]),
        )

    def key(self) -> tuple[tuple[float, ...], ...]:
        """A hashable fingerprint (the exposure fit is cached on it)."""
        return (
            tuple(self.discrimination.tolist()),
            tuple(self.difficulty.tolist()),
            tuple(self.guessing.tolist()),
        )


def stop_reason(
    *, n_asked: int, n_remaining: int, standard_error: float, n_scored: int, policy: Policy
) -> Reason | None:
    """Why the test stops now, or None to go on: no question left to serve, the target SE
    (counted only once the minimum length is reached), or the maximum length (where an extreme
    learner, whose SE never reaches the target, stops)."""
    if n_remaining == 0:
        return Reason.ALL_ANSWERED
    if n_asked >= policy.min_length and n_scored > 0 and standard_error <= policy.target_se:
        return Reason.TARGET_SE_REACHED
    if n_asked >= policy.max_length:
        return Reason.MAX_LENGTH_REACHED
    return None


def eligible(k: NDArray[np.float64] | None, draws: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Which items an attempt may be served: item i when ``draws[i] < k[i]`` (all without
    exposure control). Drawing once per attempt is Sympson-Hetter with its rule that an item
    rejected once stays rejected for that learner: the draw is the same whenever it is made."""
    if k is None:
        return np.ones(draws.shape, dtype=bool)
    return np.asarray(draws < k, dtype=bool)


def draws_for(key: Sequence[int], n_items: int) -> NDArray[np.float64]:
    """One attempt's uniform draws, one per item (``key``: e.g. the attempt id)."""
    return np.random.default_rng([DRAW_SALT, *key]).random(n_items)


def next_item(
    bank: Bank,
    *,
    asked: Sequence[int],
    scored: Mapping[int, bool],
    policy: Policy,
    k: NDArray[np.float64] | None,
    key: Sequence[int],
    claim: Callable[[int], bool] | None = None,
) -> tuple[int | None, Reason]:
    """The bank index to serve next (None when the test stops) and why: the most informative
    item at the current EAP estimate among the attempt's eligible items not asked yet whose
    ``claim`` succeeds (tried in order of information; none: ``EXPOSURE_LIMIT_REACHED``).

    ``asked``: bank indices already served; ``scored``: bank index -> correct, for the answers
    that have a score (a free-text answer waiting for its grade counts as asked, not scored).
    ``claim``: counts the item as served if its exposure cap allows (``ExposureLedger.claim``,
    or ``repo_db.exposure.claim`` on a real attempt); None claims nothing (a preview).
    """
    ids = sorted(scored)
    estimate = estimate_ability([scored[i] for i in ids], [bank.item(i) for i in ids])
    if k is None:
        candidates = np.ones(len(bank), dtype=bool)
    else:
        candidates = eligible(k, draws_for(key, len(bank)))
    candidates[list(asked)] = False
    reason = stop_reason(
        n_asked=len(asked),
        n_remaining=int(candidates.sum()),
        standard_error=estimate.standard_error,
        n_scored=len(ids),
        policy=policy,
    )
    if reason is not None:
        return None, reason
    info = information_many(estimate.theta, bank.discrimination, bank.difficulty, bank.guessing)
    # Most informative first; a stable sort keeps ties in bank (question-id) order.
    order = np.argsort(-np.where(candidates, info, -np.inf), kind="stable")
    for index in order[: int(candidates.sum())].tolist():
        if claim is None or claim(index):
            return index, Reason.NEXT
    return None, Reason.EXPOSURE_LIMIT_REACHED


@dataclass(frozen=True)
class BatchRun:
    """Many simulated learners through one policy at once (the exposure fit's inner loop)."""

    lengths: NDArray[np.int64]
    theta: NDArray[np.float64]
    standard_error: NDArray[np.float64]
    administered: NDArray[np.float64]  # per item: learners it was served to
    considered: NDArray[np.float64]  # per item: learners for whom it came to the top

    @property
    def exposure(self) -> NDArray[np.float64]:
        return self.administered / len(self.lengths)


def run_batch(
    bank: Bank,
    policy: Policy,
    k: NDArray[np.float64] | None,
    true_theta: NDArray[np.float64],
    rng: np.random.Generator,
) -> BatchRun:
    """``next_item``'s rule for every learner at once: the same stop rule and choice, with the
    draws from ``rng`` instead of per-attempt seeds (the same distribution). It also counts,
    per item, the learners for whom it came to the top of the list (Sympson-Hetter's
    "selected"): served if eligible, rejected for good if not."""
    a, b, c = bank.discrimination, bank.difficulty, bank.guessing
    n, n_items = len(true_theta), len(bank)
    log_lik = np.zeros((n, len(QUADRATURE_POINTS)))
    open_ = np.ones((n, n_items), dtype=bool)  # neither asked nor rejected
    allowed = eligible(k, rng.random((n, n_items)))
    lengths = np.zeros(n, dtype=np.int64)
    theta, se = eap_many(log_lik)
    administered = np.zeros(n_items)
    considered = np.zeros(n_items)
    active = np.arange(n)
    for step in range(n_items + 1):
        theta[active], se[active] = eap_many(log_lik[active])
        remaining = (open_[active] & allowed[active]).sum(axis=1)
        go_on = [
            stop_reason(
                n_asked=step,
                n_remaining=int(left),
                standard_error=float(error),
                n_scored=step,
                policy=policy,
            )
            is None
            for left, error in zip(remaining, se[active], strict=True)
        ]
        active = active[np.array(go_on, dtype=bool)]
        if active.size == 0:
            break
        info = information_many(theta[active, None], a[None, :], b[None, :], c[None, :])
        info = np.where(open_[active], info, -np.inf)
        chosen = np.argmax(np.where(allowed[active], info, -np.inf), axis=1)
        top = open_[active] & (info >= info[np.arange(active.size), chosen][:, None])
        considered += top.sum(axis=0)
        open_[active] &= ~top  # served now, or rejected for good
        administered += np.bincount(chosen, minlength=n_items)
        lengths[active] += 1
        ca, cb, cc = a[chosen], b[chosen], c[chosen]
        p_true = cc + (1 - cc) / (1 + np.exp(-ca * (true_theta[active] - cb)))
        right = rng.random(active.size) < p_true
        p = cc[:, None] + (1 - cc[:, None]) / (
            1 + np.exp(-ca[:, None] * (QUADRATURE_POINTS[None, :] - cb[:, None]))
        )
        p = np.clip(p, 1e-12, 1 - 1e-12)
        log_lik[active] += np.where(right[:, None], np.log(p), np.log1p(-p))
    return BatchRun(lengths, theta, se, administered, considered)


def fit_sympson_hetter(
    bank: Bank,
    policy: Policy,
    *,
    n_learners: int = FIT_LEARNERS,
    rounds: int = FIT_ROUNDS,
    seed: int = 0,
) -> NDArray[np.float64]:
    """Sympson-Hetter's iteration: simulate, then K_i = t / P(selected_i) where that share is
    above the target t (``fit_target``; else K_i = 1), repeat, starting from no control (K = 1).
    The same simulated learners and draws every round (common random numbers), so the rounds
    differ only by K. Lowering one item's K sends learners to the next one, so the exposures come
    down over several rounds; the K returned is the best round's (most precise, then shortest
    tests) among those whose run kept every exposure within 3 SDs of the fit's own sampling
    noise of t."""
    if policy.max_exposure is None:
        return np.ones(len(bank))
    target = fit_target(policy.max_exposure)
    # A round's K counts only if its own run kept every item within 3 SDs of the fit's sampling
    # noise of the target.
    allowed = target + 3.0 * math.sqrt(target * (1.0 - target) / n_learners)
    true_theta = np.random.default_rng(seed).standard_normal(n_learners)
    k = np.ones(len(bank))
    # If no round qualifies: K_i = t for every item, under t in expectation whatever the demand
    # (an item is served only when eligible), at the price of fewer questions per learner.
    best_k, best_score = np.full(len(bank), target), (np.inf, np.inf)
    for _round in range(rounds):
        run = run_batch(bank, policy, k, true_theta, np.random.default_rng(seed + 1))
        # Best: the most precise tests (SE to 0.01), then the shortest.
        score = (round(float(run.standard_error.mean()), 2), float(run.lengths.mean()))
        if run.exposure.max() <= allowed and score < best_score:
            best_k, best_score = k, score
        share = run.considered / n_learners
        new_k = np.where(share > target, target / np.maximum(share, 1e-12), 1.0)
        if np.allclose(new_k, k, atol=0.01):
            break
        k = new_k
    return best_k


def fit_key(bank: Bank, policy: Policy) -> str:
    """What a fit depends on, as a sha256 hex digest: the bank's question ids and item
    parameters, the policy and the fit's own settings. A stored fit is used only under its key,
    so a recalibration, an edited bank or a changed limit makes it stale."""
    described = json.dumps(
        [
            FIT_VERSION,
            FIT_LEARNERS,
            FIT_ROUNDS,
            COHORT,
            list(bank.ids),
            *(list(values) for values in bank.key()),
            [policy.target_se, policy.min_length, policy.max_length, policy.max_exposure],
        ]
    )  # json writes floats with repr: the exact double, so equal banks give equal keys
    return hashlib.sha256(described.encode()).hexdigest()


def provisional_parameters(bank: Bank, policy: Policy) -> NDArray[np.float64] | None:
    """K_i = 1 for every item (the hard cap alone), served until the bank's fit is stored (None:
    no exposure control): see the module docstring."""
    if policy.max_exposure is None:
        return None
    return np.ones(len(bank))


@functools.lru_cache(maxsize=128)
def _cached_fit(bank_key: tuple[tuple[float, ...], ...], policy: Policy) -> tuple[float, ...]:
    a, b, c = (np.array(v, dtype=np.float64) for v in bank_key)
    bank = Bank(ids=tuple(range(len(a))), discrimination=a, difficulty=b, guessing=c)
    return tuple(fit_sympson_hetter(bank, policy).tolist())


def exposure_parameters(bank: Bank, policy: Policy) -> NDArray[np.float64] | None:
    """The fitted K_i for this bank and policy (None: no exposure control), cached per process
    on the parameters and the policy. For simulations and the AI worker's fit job: seconds of
    work, never called on a request's path (attempts read the stored fit)."""
    if policy.max_exposure is None:
        return None
    return np.array(_cached_fit(bank.key(), policy))


__all__ = [
    "Bank",
    "BatchRun",
    "ExposureLedger",
    "Policy",
    "Reason",
    "draws_for",
    "eligible",
    "exposure_cap",
    "exposure_parameters",
    "fit_key",
    "fit_target",
    "fit_sympson_hetter",
    "may_serve",
    "next_item",
    "provisional_parameters",
    "run_batch",
    "stop_reason",
    "warmup",
]
