"""QTI import and export of the largest assessment (QUESTIONS_MAX questions, every kind), against
the floor of reading the same package: unzipping it and parsing each XML member with lxml.

    ./pants run benchmarks/qti_import.py

Prints the median of 5 rounds for each step and its ratio to the floor measured in the same run.
"""

from __future__ import annotations

import io
import statistics
import time
import zipfile
from collections.abc import Callable

from lxml import etree

from repo_domain import qti
from repo_domain.questions import OptionSpec, QuestionSpec
from repo_domain.validation import QUESTIONS_MAX

ROUNDS = 5


def specs() -> list[QuestionSpec]:
    kinds = [
        QuestionSpec(
            kind="single_choice",
            prompt="Which of these is the capital of France?\n\nPick one.",
            options=tuple(OptionSpec(f"City {i}", i == 2) for i in range(5)),
        ),
        QuestionSpec(
            kind="multiple_choice",
            prompt="Pick every prime number.",
            points=3,
            options=tuple(OptionSpec(str(n), n in (2, 3, 5, 7)) for n in range(2, 10)),
        ),
        QuestionSpec(kind="numeric", prompt="6 x 7?", numeric_answer=42, numeric_tolerance=0.5),
        QuestionSpec(
            kind="free_text",
            prompt="Why does an index speed up a lookup? " * 10,
            points=4,
            reference_answer="It avoids a full table scan.",
            rubric_keywords=("full table scan|every row", "b-tree|sorted"),
        ),
    ]
    return [kinds[i % len(kinds)].validated() for i in range(QUESTIONS_MAX)]


def median_seconds(step: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            etree.fromstring(archive.read(name))  # noqa: S320 - our own package, a baseline


def main() -> None:
    questions = specs()
    data = qti.write_package(title="Benchmark", description="", questions=questions)
    assert qti.read_upload("b.zip", data).specs == questions  # the round trip holds
    base = median_seconds(lambda: floor(data))
    rows = [
        ("unzip + lxml parse (floor)", base),
        ("read_upload (import)", median_seconds(lambda: qti.read_upload("b.zip", data))),
        (
            "write_package (export)",
            median_seconds(
                lambda: qti.write_package(title="Benchmark", description="", questions=questions)
            ),
        ),
    ]
    print(f"{QUESTIONS_MAX} questions, package {len(data) / 1024:.0f} KiB, median of {ROUNDS}")
    for name, seconds in rows:
        print(f"{name:30} {seconds * 1000:8.1f} ms  x{seconds / base:5.1f}")


if __name__ == "__main__":
    main()
