"""Adaptive testing against catsim on the same simulated bank: items used, RMSE of theta and the
maximum exposure rate (issue 18).

One bank (``repo_ai.simulation.simulated_bank``: 120 items, the 2PL parameters calibration tests
use) and the same learners (true abilities from N(0, 1)) for every method; every test stops at
SE <= 0.35 or at the maximum length (the platform's default for this bank, also given to catsim).

* ours: ``repo_domain.cat.next_item`` (EAP, maximum information) without exposure control,
  with Sympson-Hetter alone at the maximum exposure rate (the platform's fit, timed separately),
  and with Sympson-Hetter plus the hard cap (``repo_domain.cat.exposure_cap``: what the platform
  runs; learners one after another, counted from the first, as ``repo_db.exposure`` counts);
  also with the hard cap alone (K_i = 1: what the platform serves until the bank's fit is
  stored) and with K_i = t for every item (the alternative measured for that);
* catsim: its ``Simulator`` with ``NumericalSearchEstimator`` (maximum likelihood) and
  ``MinErrorStopper``, starting at theta 0, with ``MaxInfoSelector`` (no control and
  ``r_max``, which skips items whose running exposure is at the rate) and
  ``RandomesqueSelector`` (a random one of the 5 most informative).

Each cohort of learners is run by every method; the figures are min/median/max over cohorts.

    PYTHONPATH=packages/db/src:packages/domain/src:apps/ai/src python benchmarks/adaptive.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from catsim.estimation import NumericalSearchEstimator
from catsim.initialization import FixedPointInitializer
from catsim.item_bank import ItemBank
from catsim.selection import BaseSelector, MaxInfoSelector, RandomesqueSelector
from catsim.simulation import Simulator
from catsim.stopping import MinErrorStopper

from repo_ai.simulation import exposure_run, simulated_bank
from repo_domain.adaptive import default_max_length
from repo_domain.cat import (
    Bank,
    Policy,
    Reason,
    exposure_parameters,
    fit_target,
    provisional_parameters,
)


@dataclass(frozen=True)
class Outcome:
    mean_items: float
    max_items: int
    rmse: float
    max_exposure: float
    seconds: float
    exposure_stops: int = 0  # tests stopped because every question left was at its cap


def ours(
    bank: Bank,
    policy: Policy,
    thetas: np.ndarray,
    seed: int,
    *,
    hard_cap: bool = True,
    parameters: Callable[[Bank, Policy], np.ndarray | None] = exposure_parameters,
) -> Outcome:
    started = time.perf_counter()
    report = exposure_run(bank, policy, thetas, seed=seed, hard_cap=hard_cap, parameters=parameters)
    return Outcome(
        mean_items=float(report.lengths.mean()),
        max_items=int(report.lengths.max()),
        rmse=report.rmse,
        max_exposure=report.max_exposure,
        seconds=time.perf_counter() - started,
        exposure_stops=report.reasons.get(Reason.EXPOSURE_LIMIT_REACHED, 0),
    )


def catsim_run(
    bank: Bank,
    selector: BaseSelector,
    *,
    target_se: float,
    max_items: int,
    thetas: np.ndarray,
    seed: int,
) -> Outcome:
    items = np.column_stack(
        [bank.discrimination, bank.difficulty, bank.guessing, np.ones(len(bank))]
    )
    simulator = Simulator(ItemBank(items), thetas.tolist(), seed=seed)
    started = time.perf_counter()
    simulator.simulate(
        FixedPointInitializer(0.0),
        selector,
        NumericalSearchEstimator(),
        MinErrorStopper(target_se, max_items=max_items),
    )
    seconds = time.perf_counter() - started
    lengths = np.array([len(a) for a in simulator.administered_items])
    counts = np.zeros(len(bank))
    for administered in simulator.administered_items:
        counts[administered] += 1
    errors = np.array(simulator.latest_estimations) - thetas
    return Outcome(
        mean_items=float(lengths.mean()),
        max_items=int(lengths.max()),
        rmse=float(np.sqrt((errors**2).mean())),
        max_exposure=float(counts.max() / len(thetas)),
        seconds=seconds,
    )


def spread(values: list[float], fmt: str) -> str:
    return "/".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--learners", type=int, default=500)
    parser.add_argument("--cohorts", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0.3, help="maximum exposure rate")
    parser.add_argument("--target-se", type=float, default=0.35)
    parser.add_argument("--only", default="", help="run only the methods whose name has this")
    args = parser.parse_args()
    bank = simulated_bank(args.items, seed=0)
    max_length = default_max_length(bank, target_se=args.target_se)
    free = Policy(args.target_se, 1, max_length, None)
    controlled = Policy(args.target_se, 1, max_length, args.rate)
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; bank "
        f"{args.items} items, {args.learners} learners x {args.cohorts} cohorts, target SE "
        f"{args.target_se}, maximum length {max_length} (platform default), rate {args.rate}",
        flush=True,
    )
    started = time.perf_counter()
    exposure_parameters(bank, controlled)
    fit_seconds = time.perf_counter() - started
    print(
        f"Sympson-Hetter fit (once per bank and policy, stored by the AI worker): "
        f"{fit_seconds:.1f} s"
    )

    def catsim_with(
        make_selector: Callable[[], BaseSelector]
    ) -> Callable[[int, np.ndarray], Outcome]:
        def run(seed: int, thetas: np.ndarray) -> Outcome:
            return catsim_run(
                bank,
                make_selector(),
                target_se=args.target_se,
                max_items=max_length,
                thetas=thetas,
                seed=seed,
            )

        return run

    methods: dict[str, Callable[[int, np.ndarray], Outcome]] = {
        "ours, max info (no control)": lambda s, t: ours(bank, free, t, s),
        f"ours, Sympson-Hetter alone r={args.rate}": lambda s, t: ours(
            bank, controlled, t, s, hard_cap=False
        ),
        f"ours, S-H + hard cap r={args.rate}": lambda s, t: ours(bank, controlled, t, s),
        # Served until the bank's fit is stored (repo_domain.cat.provisional_parameters: K=1),
        # and the alternative it was chosen over: K_i = t for every item.
        f"ours, hard cap alone r={args.rate}": lambda s, t: ours(
            bank, controlled, t, s, parameters=provisional_parameters
        ),
        f"ours, K=t + hard cap r={args.rate}": lambda s, t: ours(
            bank,
            controlled,
            t,
            s,
            parameters=lambda b, _p: np.full(len(b), fit_target(args.rate)),
        ),
        "catsim MaxInfoSelector": catsim_with(MaxInfoSelector),
        f"catsim MaxInfoSelector r_max={args.rate}": catsim_with(
            lambda: MaxInfoSelector(r_max=args.rate)
        ),
        "catsim RandomesqueSelector(5)": catsim_with(lambda: RandomesqueSelector(bin_size=5)),
    }
    if args.only:
        methods = {name: run for name, run in methods.items() if args.only in name}
    results: dict[str, list[Outcome]] = {name: [] for name in methods}
    for cohort in range(args.cohorts):
        thetas = np.random.default_rng(1000 + cohort).standard_normal(args.learners)
        for name, run in methods.items():
            results[name].append(run(cohort, thetas))
    print(
        f"{'method':<36} {'mean items':>17} {'max items':>11} {'RMSE':>17} "
        f"{'max exposure':>17} {'seconds':>14} {'cap stops':>9}   (min/median/max over cohorts)"
    )
    for name, outcomes in results.items():
        print(
            f"{name:<36} {spread([o.mean_items for o in outcomes], '.1f'):>17} "
            f"{max(o.max_items for o in outcomes):>11} "
            f"{spread([o.rmse for o in outcomes], '.3f'):>17} "
            f"{spread([o.max_exposure for o in outcomes], '.3f'):>17} "
            f"{spread([o.seconds for o in outcomes], '.1f'):>14} "
            f"{sum(o.exposure_stops for o in outcomes):>9}"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
