"""Free-text grading against answers scored by a human (repo_ai/data/grading_set.json)."""

from __future__ import annotations

from repo_ai.grading import Rubric, grade_answer, load_labelled_set, quadratic_weighted_kappa

ACCURACY_FLOOR = 0.8
KAPPA_FLOOR = 0.85


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


RUBRIC = Rubric.of(
    "Plants use light energy to turn carbon dioxide and water into glucose and oxygen.",
    ["light|sunlight", "carbon dioxide|co2", "water", "glucose|sugar", "oxygen"],
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
    assert full.fraction == 1.0 and full.confidence == 1.0 and full.feedback.startswith("Full")
    for empty in ("", "   ", "?!"):
        nothing = grade_answer(RUBRIC, empty)
        assert nothing.fraction == 0.0 and nothing.confidence == 1.0
        assert nothing.feedback == "No answer was given."


def test_a_borderline_answer_has_low_confidence() -> None:
    borderline = grade_answer(RUBRIC, "Plants take in carbon dioxide.")
    clear = grade_answer(RUBRIC, "Cats sleep a lot.")
    assert borderline.confidence < clear.confidence


def test_without_keywords_the_model_answer_alone_decides() -> None:
    rubric = Rubric.of("A function that yields values lazily, one at a time.", None)
    assert rubric.keywords == [] and grade_answer(rubric, "It is a car.").fraction == 0.0
    close = grade_answer(rubric, "A function which yields its values lazily, one at a time.")
    assert close.fraction == 1.0 and close.coverage is None
