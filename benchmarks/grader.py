"""Free-text grading: agreement with human scores for three graders, side by side.

Graders: ``keywords`` (plain keyword overlap: share of the rubric's key ideas with any phrasing
found as a substring; >= 2/3 full, >= 1/3 half), ``main`` (the grader before issue 18, kept in
benchmarks/grader_main.py) and ``new`` (repo_ai.grading). Sets: the training answers of the
labelled set (the new grader's model is fitted on them), its held-out answers of the training
questions, its held-out questions (``unseen``: looked at while tuning, so now the development
split), the first labelled set (repo_ai/data/grading_set.json, 6 other questions, never fitted
on) and, only with ``--sealed``, the sealed split (repo_ai/data/grading_sealed.json: 3 questions
in other subjects, written and committed before the last round of tuning; run it once, on the
final grader).

Printed: accuracy, quadratic weighted kappa (QWK) and its ratio to the keyword baseline, the
share flagged for review, mean credit per answer class, a reliability table (confidence bins
vs observed accuracy), the model-selection comparison (leave-one-question-out on the training
questions), the gain from the author's reviews after N = 10, 20, 40 reviewed answers on the
unseen questions, and grading time per answer (min/median/max of rounds, load average).

    ./pants run benchmarks/grader.py -- [--reps 3] [--rounds 3] [--sealed]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from benchmarks import grader_main
from repo_ai import (
    grading,
    grading_features,
    grading_model,
    grading_rubric,
    grading_text,
    grading_wordnet,
)
from repo_ai.grading_eval import Item, Report, evaluate, expected_calibration_error, items, qwk
from repo_ai.grading_features import char_grams
from repo_ai.grading_rubric import Rubric
from repo_ai.grading_text import tokens
from repo_ai.grading_wordnet import NONE, Expansion

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


def _terse(data: dict[str, Any]) -> dict[str, Any]:
    """The same questions with each key idea cut to its first phrasing (an author who lists
    no synonyms: where WordNet has to do the work)."""
    out = copy.deepcopy(data)
    for q in out["questions"]:
        q["rubric_keywords"] = [k.split("|")[0] for k in q["rubric_keywords"]]
    return out


@contextlib.contextmanager
def _without_hand_table() -> Iterator[None]:
    saved = grading_text._SYNONYMS
    grading_text._SYNONYMS = {}
    _clear_caches()
    try:
        yield
    finally:
        grading_text._SYNONYMS = saved
        _clear_caches()


def _clear_caches() -> None:
    grading_text.tokens.cache_clear()
    grading_text.expand.cache_clear()
    grading_features._rubric_concepts.cache_clear()
    grading_features._reference_reach.cache_clear()


#: The features added for right-in-other-words answers (WordNet on the answer side too).
ANSWER_SIDE_FEATURES = ("ideas_sym", "soft_sym", "rr_sym", "rr_sym_fluent", "soft_sym_fluent")


def _dev(
    data: dict[str, Any],
    columns: list[int],
    c: float,
    cuts: tuple[float, float],
    class_weights: dict[str, float] | None = None,
) -> str:
    """Fitted on the training answers, graded on the development questions (``unseen``)."""
    rows = grading_model.training_rows(data, class_weights=class_weights).select(columns)
    model = grading_model.LevelModel(c).fit(rows.x, rows.y, rows.weights)
    xs, ys, classes = [], [], []
    for q in data["questions"]:
        if q["split"] != "heldout":
            continue
        rubric = grading_model.rubric_of(q)
        for a in q["answers"]:
            xs.append(grading_features.vector(rubric, a["text"])[columns])
            ys.append(grading_model.LEVELS.index(a["score"]))
            classes.append(a["class"])
    levels = grading_model.choose_levels(model.proba(np.array(xs)), cuts)
    return _summary(np.array(ys), levels, np.array(classes))


def _summary(y: np.ndarray, levels: np.ndarray, classes: np.ndarray) -> str:
    credit = {k: (levels / 2)[classes == k].mean() for k in CLASSES}
    return (
        f"QWK {qwk(y / 2, levels / 2):.3f} paraphrase {credit['paraphrase']:.2f}"
        f" stuffed {credit['keyword_stuffed']:.2f} false {credit['false_with_rubric_words']:.2f}"
    )


def other_words_selection() -> None:
    """The issue-18 follow-up: antonym contradictions, the answer-side WordNet features and
    the class weights, each on and off, by leave-one-question-out (training questions) and on
    the development questions, with the rubrics as written and cut to their first phrasings."""
    print("\n## Right in other words / false statements: variants (LOQO on training questions;")
    print("dev = fitted on the training answers, graded on the development questions)")
    base = [i for i, f in enumerate(grading_features.FEATURES) if f not in ANSWER_SIDE_FEATURES]
    every = list(range(len(grading_features.FEATURES)))
    saved = grading_rubric.ANTONYM_CONTRADICTIONS
    try:
        shipped = (grading_model.C, grading_model.CUTS, grading_model.CLASS_WEIGHTS)
        for label, antonyms, columns, (c, cuts, weights) in (
            ("before (no antonyms, no answer-side features)", False, base, (0.3, (0.3, 0.7), {})),
            ("antonym contradictions", True, base, (0.3, (0.3, 0.7), {})),
            ("answer-side WordNet features", False, every, (0.3, (0.3, 0.7), {})),
            ("both, unweighted", True, every, (0.3, (0.3, 0.7), {})),
            ("both, paraphrase x1.5", True, every, (0.3, (0.3, 0.7), {"paraphrase": 1.5})),
            ("both, paraphrase x2 (shipped)", True, every, shipped),
            (
                "both, paraphrase x2, false x2",
                True,
                every,
                (0.3, (0.3, 0.7), {"paraphrase": 2.0, "false_with_rubric_words": 2.0}),
            ),
            ("shipped, cuts 0.3/0.6", True, every, (0.3, (0.3, 0.6), shipped[2])),
            ("shipped, C 0.1", True, every, (0.1, (0.3, 0.7), shipped[2])),
            ("shipped, C 1", True, every, (1.0, (0.3, 0.7), shipped[2])),
        ):
            grading_rubric.ANTONYM_CONTRADICTIONS = antonyms
            for name, data in (
                ("as written", grading_model.load_labelled()),
                ("first phrasing", _terse(grading_model.load_labelled())),
            ):
                _clear_caches()
                loqo = _loqo(data, grading_wordnet.SHIPPED, c, columns, cuts, weights)
                dev = _dev(data, columns, c, cuts, weights)
                print(f"{label:46s} {name:14s} LOQO {loqo} | dev {dev}")
    finally:
        grading_rubric.ANTONYM_CONTRADICTIONS = saved
        _clear_caches()


def _loqo(
    data: dict[str, Any],
    expansion: Expansion,
    c: float = grading_model.C,
    columns: list[int] | None = None,
    cuts: tuple[float, float] = grading_model.CUTS,
    class_weights: dict[str, float] | None = None,
) -> str:
    """Leave-one-question-out over the training questions: QWK and mean credit per class."""
    rows = grading_model.training_rows(data, expansion, class_weights)
    if columns is not None:
        rows = rows.select(columns)
    classes = np.array(
        [a["class"] for q in data["questions"] for a in q["answers"] if not a["heldout"]]
    )
    levels = grading_model.choose_levels(grading_model.out_of_question_proba(rows, c), cuts)
    return _summary(rows.y, levels, classes)


WORDNET_VARIANTS: dict[str, Expansion] = {
    "no WordNet": NONE,
    "1 sense": Expansion(senses=1),
    "1 sense + derived": Expansion(senses=1, derived=True),
    "2 senses": Expansion(senses=2),
    "2 senses + derived": Expansion(senses=2, derived=True),
    "2 senses + derived + similar adj": Expansion(senses=2, derived=True, similar=True),
    "2 senses + derived, symmetric": Expansion(senses=2, derived=True, symmetric=True),
    "3 senses": Expansion(senses=3),
    "3 senses + derived": Expansion(senses=3, derived=True),
    "3 senses + derived, symmetric": Expansion(senses=3, derived=True, symmetric=True),
    "2 senses + derived, one-phrasing ideas only": Expansion(
        senses=2, derived=True, single_phrasing_only=True
    ),
    "3 senses + derived, one-phrasing ideas only": Expansion(
        senses=3, derived=True, single_phrasing_only=True
    ),
}


def model_selection() -> None:
    print("\n## Model selection: leave-one-question-out on the training questions only")
    data = grading_model.load_labelled()
    terse = _terse(data)
    print("WordNet expansion (C and cuts as shipped), with the rubrics as written || with each")
    print("key idea cut to its first phrasing:")
    for label, expansion in WORDNET_VARIANTS.items():
        print(f"{label:34s} {_loqo(data, expansion)} || {_loqo(terse, expansion)}")
    with _without_hand_table():
        print(
            f"{'shipped, no hand synonym table':34s} {_loqo(data, grading_wordnet.SHIPPED)}"
            f" || {_loqo(terse, grading_wordnet.SHIPPED)}"
        )
    print(f"shipped expansion: {grading_wordnet.SHIPPED}")
    rows = grading_model.training_rows(data)
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


def wordnet_cost() -> None:
    print("\n## WordNet reader: first load in this process")
    start = time.perf_counter()
    before = _rss_mb()
    grading_wordnet.wordnet()
    seconds, grown = time.perf_counter() - start, _rss_mb() - before
    print(f"loaded in {seconds:.2f} s, resident memory +{grown:.0f} MB")


def terse_unseen() -> None:
    print("\n## Unseen questions with each key idea cut to its first phrasing (no tuning here)")
    print("What WordNet does when the author lists no synonyms: the shipped grader vs the same")
    print("grader reading the rubric without WordNet (same model, features without expansion).")
    data = _terse(grading_model.load_labelled())
    for label, expansion in (("WordNet (shipped)", grading_wordnet.SHIPPED), ("no WordNet", NONE)):
        subset = []
        for q in data["questions"]:
            if q["split"] != "heldout":
                continue
            rubric = Rubric.of(q["reference_answer"], q["rubric_keywords"], expansion)
            for a in q["answers"]:
                subset.append(Item(q["key"], rubric, a["text"], a["score"], a["class"], "unseen"))
        r = evaluate(new_grader, subset, THRESHOLD)
        credit = " ".join(f"{c} {r.credit.get(c, float('nan')):.2f}" for c in CLASSES)
        print(
            f"{label:18s} n {r.n} accuracy {r.accuracy:.3f} QWK {r.qwk:.3f}"
            f" ECE {expected_calibration_error(r):.3f} flagged {r.flagged:.2f}  {credit}"
        )


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


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
            grading_text.expand.cache_clear()
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
    parser.add_argument(
        "--sealed",
        action="store_true",
        help="also grade the sealed split (once, on the final grader: see docs/benchmarks.md)",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"load average at start: {os.getloadavg()}")
    wordnet_cost()
    start = time.perf_counter()
    grading_model.shipped_model()
    print(f"model fitted in {time.perf_counter() - start:.2f} s")
    all_items = items(grading_model.load_labelled())
    subsets = {
        s: [it for it in all_items if it.split == s] for s in ("train", "heldout_answers", "unseen")
    }
    subsets["legacy"] = legacy_items()
    if args.sealed:
        subsets["sealed"] = items(grading_model.load_labelled(grading_model.SEALED_SET))
    reports = agreement(subsets)
    credit_table(reports, [s for s in subsets if s != "legacy"])
    for name in ("sealed", "unseen"):
        if name in subsets:
            reliability(reports, name)
    model_selection()
    other_words_selection()
    terse_unseen()
    reviews(subsets["unseen"], args.reps)
    timing(subsets["unseen"], args.rounds)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
