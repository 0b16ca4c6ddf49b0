"""Free-text grading against answers scored by a human.

Two labelled sets: repo_ai/data/grading_set.json (6 other questions, scores 0-2; the model
is never fitted on it) and repo_ai/data/grading_labelled.json (8 questions x 50 answers with
classes and a fixed held-out split: the model is fitted on its training answers only). The
targets below are asserted on answers the model never saw.
"""

from __future__ import annotations

from repo_ai.grading import (
    DEFAULT_REVIEW_THRESHOLD,
    Rubric,
    grade_answer,
    load_labelled_set,
    quadratic_weighted_kappa,
)
from repo_ai.grading_eval import evaluate, expected_calibration_error, items
from repo_ai.grading_features import features
from repo_ai.grading_model import load_labelled
from repo_ai.grading_text import concept, opposites
from repo_ai.grading_wordnet import NONE, antonyms, related

ACCURACY_FLOOR = 0.8
KAPPA_FLOOR = 0.85
#: The issue's targets, on the held-out questions.
UNSEEN_KAPPA_FLOOR = 0.75
STUFFED_FALSE_CEILING = 0.2
#: The issue's target for right-in-other-words (0.81 on the development questions since the
#: answer-side WordNet features and class weights; see docs/benchmarks.md).
PARAPHRASE_FLOOR = 0.7


def _fraction_and_confidence(rubric: Rubric, answer: str) -> tuple[float, float]:
    grade = grade_answer(rubric, answer)
    return grade.fraction, grade.confidence


def test_agreement_with_human_scores_on_the_labelled_set() -> None:
    data = load_labelled_set()
    levels = data["max_score"] + 1
    human: list[int] = []
    machine: list[int] = []
    for question in data["questions"]:
        rubric = Rubric.of(question["reference_answer"], question["rubric_keywords"])
        for answer, score in question["answers"]:
            human.append(score)
            machine.append(round(grade_answer(rubric, answer).fraction * data["max_score"]))
    assert len(data["questions"]) >= 5 and len(human) >= 60
    accuracy = sum(h == m for h, m in zip(human, machine, strict=True)) / len(human)
    kappa = quadratic_weighted_kappa(human, machine, levels)
    print(f"{len(human)} answers: accuracy {accuracy:.3f}, quadratic weighted kappa {kappa:.3f}")
    assert accuracy >= ACCURACY_FLOOR
    assert kappa >= KAPPA_FLOOR


def test_targets_on_the_held_out_questions() -> None:
    data = load_labelled()
    assert len(data["questions"]) >= 6
    assert all(len(q["answers"]) >= 50 for q in data["questions"])
    unseen = [it for it in items(data) if it.split == "unseen"]
    assert len({it.question for it in unseen}) >= 2
    report = evaluate(_fraction_and_confidence, unseen, DEFAULT_REVIEW_THRESHOLD)
    print(report)
    assert report.qwk >= UNSEEN_KAPPA_FLOOR
    assert report.credit["keyword_stuffed"] <= STUFFED_FALSE_CEILING
    assert report.credit["false_with_rubric_words"] <= STUFFED_FALSE_CEILING
    assert report.credit["paraphrase"] >= PARAPHRASE_FLOOR
    assert report.credit["dont_know"] == 0.0 and report.credit["off_topic"] <= 0.1


def test_confidence_is_calibrated_on_unseen_answers() -> None:
    """Within each confidence bin the share of grades that agree with the human is close to the
    stated confidence (reliability table), over all answers the model was not fitted on."""
    held = [it for it in items(load_labelled()) if it.split != "train"]
    report = evaluate(_fraction_and_confidence, held, DEFAULT_REVIEW_THRESHOLD)
    for lo, hi, n, confidence, accuracy in report.reliability:
        print(f"[{lo:.1f}, {hi:.1f}) n={n} confidence {confidence:.2f} observed {accuracy:.2f}")
    assert expected_calibration_error(report) <= 0.1
    big = [r for r in report.reliability if r[2] >= 20]
    assert big and all(abs(r[3] - r[4]) <= 0.15 for r in big)


RUBRIC = Rubric.of(
    "Plants use light energy to turn carbon dioxide and water into glucose and oxygen.",
    ["light|sunlight", "carbon dioxide|co2", "water", "glucose|sugar", "oxygen"],
)
INDEX = Rubric.of(
    "Without an index the database must scan every row. An index keeps the emails in a sorted "
    "B-tree, so the database jumps to the entry in a few steps and avoids a full table scan.",
    ["avoid a full table scan|without scanning every row", "sorted|b-tree|ordered", "!compresses"],
)


def test_feedback_counts_key_ideas_without_naming_the_rubric() -> None:
    grade = grade_answer(RUBRIC, "Plants use sunlight to make sugar.")
    assert grade.fraction == 0.5
    assert grade.matched == ["light", "glucose"]  # for the grader's own use (review queue)
    assert grade.missing == ["carbon dioxide", "water", "oxygen"]
    assert "Covers 2 of 5 key ideas." in grade.feedback
    # The learner-facing text names no keyword: a retake with the missing ones would score full.
    words = {alt for group in RUBRIC.keywords for alt in group.split("|")}
    assert not [w for w in words if w in grade.feedback.lower()], grade.feedback


def test_full_and_empty_answers_are_confident() -> None:
    full = grade_answer(RUBRIC, "Using light, plants turn CO2 and water into glucose and oxygen.")
    # The confidence is a calibrated probability: a full answer is sure, but not "certain".
    assert full.fraction == 1.0 and full.confidence >= 0.9 and full.feedback.startswith("Full")
    for empty in ("", "   ", "?!"):
        nothing = grade_answer(RUBRIC, empty)
        assert nothing.fraction == 0.0 and nothing.confidence == 1.0
        assert nothing.feedback == "No answer was given."


def test_keyword_stuffing_and_false_statements_earn_nothing() -> None:
    stuffed = "b-tree sorted full table scan every row index ordered"
    assert grade_answer(INDEX, stuffed).fraction == 0.0
    assert grade_answer(INDEX, "B-tree, sorted, scan, rows, index, faster.").fraction == 0.0
    false = "The index does a full table scan of the sorted rows every time."
    assert grade_answer(INDEX, false).fraction == 0.0
    compress = "An index compresses the emails so that there is less data to read."
    assert grade_answer(INDEX, compress).fraction == 0.0


def test_negation_flips_an_idea() -> None:
    right = "It does not have to scan every row, because the emails are kept sorted in a tree."
    assert grade_answer(INDEX, right).fraction == 1.0
    wrong = "The index is not sorted and it does not avoid a full table scan."
    grade = grade_answer(INDEX, wrong)
    assert grade.fraction == 0.0 and grade.matched == []
    assert "not right" in grade.feedback


def test_paraphrase_with_everyday_synonyms_earns_credit() -> None:
    rubric = Rubric.of(
        "The price rises because demand exceeds supply, so buyers compete.",
        ["price rises|price increases", "demand exceeds supply|shortage"],
    )
    said = "It costs more: more customers want it than there is, so they outbid each other."
    assert grade_answer(rubric, said).fraction >= 0.5


SPOON = (
    "Metal is a good conductor: it carries heat away from the hand quickly, although both "
    "spoons have the same temperature."
)
#: Terse key ideas, no synonyms listed: what an answer may say instead comes from WordNet.
SPOON_IDEAS = ["carries heat", "good conductor", "same temperature", "!metal is colder"]


def test_wordnet_synonyms_of_a_rubric_idea_earn_credit_and_a_list_of_them_does_not() -> None:
    """ "transmits warmth" states "carries heat" (WordNet: carry ~ transmit, heat ~ warmth) and
    "conducts well" states "good conductor" (a derivationally related form). Fails if WordNet
    stops being read (the grader then finds only "same temperature", via the hand table), if
    the expansion is widened so far that stuffing pays, or if the fluency features stop
    telling a list of those synonyms from a sentence."""
    said = (
        "The steel one transmits warmth out of your fingers fast because steel conducts well, "
        "even though the two spoons are at an identical temperature."
    )
    grade = grade_answer(Rubric.of(SPOON, SPOON_IDEAS), said)
    assert grade.matched == ["carries heat", "good conductor", "same temperature"]
    assert grade.fraction == 1.0
    without = grade_answer(Rubric.of(SPOON, SPOON_IDEAS, expansion=NONE), said)
    assert without.matched == ["same temperature"]
    for stuffed in (
        "transmits warmth, conducts, identical temperature, steel, fingers",
        "steel transmits warmth conducts identical temperature fingers",
    ):
        assert grade_answer(Rubric.of(SPOON, SPOON_IDEAS), stuffed).fraction == 0.0


def test_ideas_with_listed_phrasings_are_read_as_written() -> None:
    """An idea the author gave several phrasings for is not widened by WordNet (on the
    held-out questions widening those cost 0.06 QWK). Fails if the shipped expansion starts
    applying WordNet to every idea."""
    listed = Rubric.of(SPOON, ["carries heat|conducts heat", "same temperature|equally warm"])
    assert listed.ideas[0].phrases[0].accepted == ({"carry"}, {"heat"})
    terse = Rubric.of(SPOON, ["carries heat", "same temperature"])
    assert "transmit" in terse.ideas[0].phrases[0].accepted[0]


def test_wordnet_reader_finds_synonyms_base_forms_and_related_forms() -> None:
    """The reader seeks synset lines in the package's files (CRLF line ends: a wrong offset
    would raise or return another synset's words)."""
    assert "transmit" in related("carries")  # base form via the suffix rules, then synonyms
    assert "warmth" in related("heat") and "heat" in related("warmth")
    assert "conduct" in related("conductor")  # derivationally related form
    assert "steal" in related("stolen")  # the package's exception list (stolen -> steal)
    assert related("carries", NONE) == frozenset()
    assert "sami" not in related("same")  # "same" as a noun (the Sami) is never tagged


def test_an_antonym_of_a_key_idea_contradicts_it() -> None:
    """With one phrasing per idea (no false-statement list to catch "the price falls"), the
    idea's phrasing with one word turned into its WordNet antonym is a contradiction; negating
    the antonym is not. Fails if antonyms stop being read or stop counting."""
    assert "fall" in antonyms("rises") and "insulator" in antonyms("conductor")
    assert concept("drops") in opposites("rises")  # the opposite synonym group too
    rubric = Rubric.of(
        "The price rises because demand exceeds supply.", ["price rises", "demand exceeds supply"]
    )
    assert features(rubric, "The price falls a lot.")["contradicted"] == 0.5
    assert features(rubric, "The price drops, demand exceeds supply.")["contradicted"] == 0.5
    assert features(rubric, "The price does not fall.")["contradicted"] == 0.0
    assert features(rubric, "The price rises; it does not fall.")["contradicted"] == 0.0
    # The contradiction reaches the grader: the feedback says so. (The level stays the
    # model's: capping contradicted answers cost QWK on the labelled set, docs/benchmarks.md.)
    false = "The price falls, because demand exceeds supply and sellers must get rid of stock."
    assert "not right" in grade_answer(rubric, false).feedback
    assert "not right" not in grade_answer(rubric, "The price rises.").feedback


def test_answer_side_wordnet_reaches_ideas_listed_with_phrasings() -> None:
    """Ideas written with several phrasings are read as written (above), but the answer-side
    features still find an answer's synonyms of them. Fails if those features stop reading
    WordNet on the answer side."""
    listed = Rubric.of(SPOON, ["carries heat|conducts heat", "same temperature|equally warm"])
    said = "Steel transmits warmth away from the hand."
    values = features(listed, said)
    assert values["ideas"] == 0.0 and values["ideas_sym"] == 0.5
    assert features(listed, "Wood is brown.")["soft_sym"] == 0.0


def test_normalisation_joins_hyphens_and_stems() -> None:
    rubric = Rubric.of("x", ["all-or-nothing", "btree", "identify"])
    grade = grade_answer(rubric, "It is all or nothing; a b-tree identifies the row.")
    assert grade.matched == ["all-or-nothing", "btree", "identify"]
    grade = grade_answer(rubric, "all-or-nothing, with a b tree that we identified")
    assert grade.coverage == 1.0


def test_without_keywords_the_model_answer_alone_decides() -> None:
    rubric = Rubric.of("A function that yields values lazily, one at a time.", None)
    assert rubric.keywords == [] and grade_answer(rubric, "It is a car.").fraction == 0.0
    close = grade_answer(rubric, "A function which yields its values lazily, one at a time.")
    assert close.fraction == 1.0 and close.coverage is None


def test_reviews_of_a_question_change_its_grades() -> None:
    """With enough author-graded answers, the question's own model joins in: an answer the
    rubric misses, but the author graded (in other words) as right, is then graded right."""
    odd = "The emails live in a phone-book-like structure, alphabetical, you jump to the page."
    base = grade_answer(INDEX, odd)
    reviewed = [(odd.replace("jump", f"skip {i} pages and jump"), 1.0) for i in range(6)] + [
        ("It makes it faster.", 0.0),
        ("no idea", 0.0),
        ("Databases store rows in tables.", 0.0),
        ("The emails are sorted.", 0.5),
        ("It avoids a full table scan.", 0.5),
        ("Without an index every row is scanned; a sorted b-tree avoids that.", 1.0),
    ]
    learned = grade_answer(INDEX, odd, reviewed)
    assert learned.score > base.score
    assert grade_answer(INDEX, odd, reviewed[:3]).score == base.score  # too few: rubric only
