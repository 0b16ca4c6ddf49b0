"""Review groups: how many author decisions grouping saves, and at what cost in wrong grades.

Each question's answers arrive one by one, as the worker flags them, and are clustered by
repo_ai.clustering.assign. A group's decision is one score for all its answers; an answer whose
hand score differs from its group's most common hand score would be graded wrongly by it (the
author sees up to three samples, so such a group may well be split by hand: this is the worst
case). Two data sets: benchmarks/data/review_answers.json (a class's answers, with the repeats a
class writes) and the grader's shipped set (every answer written to be different: the least
grouping can save). Last, the worker's cost: clustering one new answer against N pending
answers of its question, as a ratio to N = 10 measured in the same run.

    ./pants run benchmarks/review_groups.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from importlib import resources
from pathlib import Path

from repo_ai.clustering import THRESHOLD, Member, assign

SETS = {
    "class answers": Path(__file__).resolve().parent / "data/review_answers.json",
    "grader's shipped set": resources.files("repo_ai") / "data/grading_set.json",
}
THRESHOLDS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 1.01)


def groups_of(answers: list[tuple[str, int]], threshold: float) -> list[list[int]]:
    """Hand scores by group, answers clustered one at a time as the worker does."""
    members: list[Member] = []
    for response_id, (text, _) in enumerate(answers, start=1):
        [key] = assign(members, [(response_id, text)], threshold=threshold).values()
        members.append(Member(response_id=response_id, text=text, cluster=key))
    by_key: dict[int, list[int]] = {}
    for member in members:
        by_key.setdefault(member.cluster, []).append(answers[member.response_id - 1][1])
    return list(by_key.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--thresholds", type=float, nargs="*", default=THRESHOLDS)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}; default threshold: {THRESHOLD}")
    for name, path in SETS.items():
        questions = json.loads(path.read_text())["questions"]
        n = sum(len(q["answers"]) for q in questions)
        print(f"\n{name}: {len(questions)} questions, {n} answers ({path.name})")
        print(
            f"{'threshold':>9} {'decisions':>9} {'saved':>6} {'largest':>7}"
            f" {'mixed groups':>12} {'wrong grades':>12}"
        )
        for threshold in args.thresholds:
            groups = [g for q in questions for g in groups_of(q["answers"], threshold)]
            mixed = [g for g in groups if len(set(g)) > 1]
            wrong = sum(len(g) - Counter(g).most_common(1)[0][1] for g in groups)
            label = "exact" if threshold > 1 else f"{threshold:.2f}"
            print(
                f"{label:>9} {len(groups):>9} {1 - len(groups) / n:>6.0%}"
                f" {max(len(g) for g in groups):>7} {len(mixed):>12}"
                f" {wrong:>5} ({wrong / n:.1%})"
            )
    bench_cost()


def bench_cost(pending: tuple[int, ...] = (10, 100, 1000), repeats: int = 7) -> None:
    """Seconds to assign one new answer against ``n`` pending ones (the class answers, cycled)."""
    answers = [
        a[0]
        for q in json.loads(SETS["class answers"].read_text())["questions"]
        for a in q["answers"]
    ]
    print(f"\ncost of clustering one new answer ({repeats} runs each)")
    print(f"{'pending':>7} {'min ms':>8} {'median ms':>9} {'max ms':>8} {'x N=10':>7}")
    baseline = None
    for n in pending:
        members = [
            Member(
                response_id=i, text=f"{answers[i % len(answers)]} {i // len(answers)}", cluster=i
            )
            for i in range(n)
        ]
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            assign(members, [(n + 1, "A function that calls itself on a smaller input.")])
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        baseline = baseline or median
        print(
            f"{n:>7} {min(times) * 1e3:>8.2f} {median * 1e3:>9.2f} {max(times) * 1e3:>8.2f}"
            f" {median / baseline:>7.1f}"
        )


if __name__ == "__main__":
    main()
