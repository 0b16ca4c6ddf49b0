"""Free-text grading: agreement with human scores for three graders, side by side.

Graders: ``keywords`` (plain keyword overlap: share of the rubric's key ideas with any phrasing
found as a substring; >= 2/3 full, >= 1/3 half), ``main`` (the grader before issue 18, kept in
benchmarks/grader_main.py) and ``new`` (repo_ai.grading). Sets: the training answers of the
labelled set (the new grader's model is fitted on them), its held-out answers of the training
questions, its held-out questions (``unseen``: the figure that matters), and the first labelled
set (repo_ai/data/grading_set.json, 6 other questions, never fitted on).

Printed: accuracy, quadratic weighted kappa (QWK) and its ratio to the keyword baseline, the
share flagged for review, mean credit per answer class, a reliability table (confidence bins
vs observed accuracy), the model-selection comparison (leave-one-question-out on the training
questions), the gain from the author's reviews after N = 10, 20, 40 reviewed answers on the
unseen questions, and grading time per answer (min/median/max of rounds, load average).

    ./pants run benchmarks/grader.py -- [--reps 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

from benchmarks import grader_main
from repo_ai import grading, grading_model
from repo_ai.grading_eval import Item, Report, evaluate, expected_calibration_error, items, qwk
from repo_ai.grading_features import char_grams
from repo_ai.grading_rubric import Rubric
from repo_ai.grading_text import tokens

THRESHOLD = grading.DEFAULT_REVIEW_THRESHOLD
CLASSES = (
    "full",
    "partial",
    "paraphrase",
    "wrong",
    "off_topic",
    "dont_know",
    "keyword_stuffed",
    "false_with_rubric_words",
    "negation",
)


def keyword_baseline(rubric: Rubric, answer: str) -> tuple[float, float]:
    text = answer.lower()
    ideas = list(rubric.keywords)
    if not ideas:
        return 0.0, 1.0
    found = sum(any(alt.strip().lower() in text for alt in k.split("|")) for k in ideas)
    share = found / len(ideas)
    return (1.0 if share >= 2 / 3 else 0.5 if share >= 1 / 3 else 0.0), 1.0


def main_grader(rubric: Rubric, answer: str) -> tuple[float, float]:
    old = grader_main.Rubric.of("\n\n".join(rubric.reference_answers), rubric.keywords)
    grade = grader_main.grade_answer(old, answer)
    return grade.fraction, grade.confidence


def new_grader(rubric: Rubric, answer: str) -> tuple[float, float]:
    grade = grading.grade_answer(rubric, answer)
    return grade.fraction, grade.confidence


GRADERS: dict[str, Callable[[Rubric, str], tuple[float, float]]] = {
    "keywords": keyword_baseline,
    "main": main_grader,
    "new": new_grader,
}


def legacy_items() -> list[Item]:
    data = grading.load_labelled_set()
    out = []
    for q in data["questions"]:
        rubric = Rubric.of(q["reference_answer"], q["rubric_keywords"])
        for text, score in q["answers"]:
            out.append(Item(q["key"], rubric, text, score / data["max_score"], "-", "legacy"))
    return out


def agreement(subsets: dict[str, list[Item]]) -> dict[tuple[str, str], Report]:
    reports = {}
    print("\n## Agreement with the human scores")
    columns = ("n", "accuracy", "QWK", "QWK/kw", "flagged")
    print(f"{'set':16s} {'grader':9s} " + " ".join(f"{c:>8s}" for c in columns))
    for name, subset in subsets.items():
        for gname, grader in GRADERS.items():
            r = evaluate(grader, subset, THRESHOLD)
            reports[(name, gname)] = r
            base = reports[(name, "keywords")].qwk
            ratio = f"{r.qwk / base:7.2f}" if base > 0 else "    n/a"
            figures = f"{r.n:8d} {r.accuracy:8.3f} {r.qwk:8.3f} {ratio:>8s} {r.flagged:8.2f}"
            print(f"{name:16s} {gname:9s} {figures}")
    return reports


def credit_table(reports: dict[tuple[str, str], Report], sets: list[str]) -> None:
    print("\n## Mean credit per class (share of the points)")
    header = " ".join(f"{c[:10]:>10s}" for c in CLASSES)
    print(f"{'set':16s} {'grader':9s} {header}")
    for name in sets:
        for gname in GRADERS:
            credit = reports[(name, gname)].credit
            row = " ".join(f"{credit.get(c, float('nan')):10.2f}" for c in CLASSES)
            print(f"{name:16s} {gname:9s} {row}")


def reliability(reports: dict[tuple[str, str], Report], name: str) -> None:
    print(f"\n## Reliability on {name} (confidence bin: n, mean confidence, observed accuracy)")
    for gname in ("main", "new"):
        r = reports[(name, gname)]
        print(f"{gname}: expected calibration error {expected_calibration_error(r):.3f}")
        for lo, hi, n, conf, acc in r.reliability:
            print(f"   [{lo:.1f}, {hi:.1f})  n={n:4d}  confidence {conf:.2f}  observed {acc:.2f}")


def model_selection() -> None:
    print("\n## Model selection: leave-one-question-out on the training questions")
    rows = grading_model.training_rows()
    for c in (0.1, 0.3, 1.0, 3.0):
        oof = grading_model.out_of_question_proba(rows, c)
        for label, levels in (
            ("most probable level", oof.argmax(axis=1)),
            ("expected share, cuts 0.3/0.7", grading_model.choose_levels(oof, (0.3, 0.7))),
            ("expected share, cuts 0.25/0.75", grading_model.choose_levels(oof, (0.25, 0.75))),
        ):
            print(
                f"C={c:<4} {label:32s} accuracy {(levels == rows.y).mean():.3f}"
                f"  QWK {qwk(rows.y / 2, levels / 2):.3f}"
            )
    print(f"shipped: C={grading_model.C}, cuts {grading_model.CUTS}")


def reviews(unseen: list[Item], reps: int) -> None:
    print("\n## Learning from the author's reviews (unseen questions)")
    print("N answers of a question graded by the author at random; QWK on the question's other")
    print(f"answers, pooled over questions and {reps} draws; rubric only vs with the reviews.")
    by_question: dict[str, list[Item]] = {}
    for it in unseen:
        by_question.setdefault(it.question, []).append(it)
    for n in (10, 20, 40):
        human: list[float] = []
        base: list[float] = []
        learned: list[float] = []
        for qi, answers in enumerate(by_question.values()):
            for rep in range(reps):
                order = np.random.default_rng(1000 * n + 10 * qi + rep).permutation(len(answers))
                train = [answers[i] for i in order[:n]]
                test = [answers[i] for i in order[n:]]
                reviewed = tuple((it.text, it.score) for it in train)
                for it in test:
                    human.append(it.score)
                    base.append(grading.grade_answer(it.rubric, it.text).fraction)
                    learned.append(grading.grade_answer(it.rubric, it.text, reviewed).fraction)
        b, r = qwk(human, base), qwk(human, learned)
        acc_b = np.mean(np.array(base) == np.array(human))
        acc_r = np.mean(np.array(learned) == np.array(human))
        print(
            f"N={n:3d}  graded {len(human):4d}  rubric only QWK {b:.3f} (accuracy {acc_b:.3f})"
            f"  with reviews QWK {r:.3f} (accuracy {acc_r:.3f})  ratio {r / b:.2f}"
        )


def timing(subset: list[Item], rounds: int) -> None:
    print("\n## Time per answer (ms; min/median/max over rounds, caches cleared each round)")
    for gname, grader in GRADERS.items():
        for it in subset[:5]:
            grader(it.rubric, it.text)  # warm-up
        samples = []
        for _ in range(rounds):
            tokens.cache_clear()
            char_grams.cache_clear()
            start = time.perf_counter()
            for it in subset:
                grader(it.rubric, it.text)
            samples.append(1000 * (time.perf_counter() - start) / len(subset))
        print(
            f"{gname:9s} {min(samples):7.2f} {statistics.median(samples):7.2f} {max(samples):7.2f}"
            f"   load average {os.getloadavg()[0]:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="random draws per N in the review run")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"load average at start: {os.getloadavg()}")
    start = time.perf_counter()
    grading_model.shipped_model()
    print(f"model fitted in {time.perf_counter() - start:.2f} s")
    all_items = items(grading_model.load_labelled())
    subsets = {
        s: [it for it in all_items if it.split == s] for s in ("train", "heldout_answers", "unseen")
    }
    subsets["legacy"] = legacy_items()
    reports = agreement(subsets)
    credit_table(reports, ["train", "heldout_answers", "unseen"])
    reliability(reports, "unseen")
    model_selection()
    reviews(subsets["unseen"], args.reps)
    timing(subsets["unseen"], args.rounds)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
