"""A grading worker loads WordNet and fits the grader's model before it claims a job, so the
seconds they take are not spent inside a job's lease."""

from __future__ import annotations

import pytest

from repo_ai import grading_wordnet
from repo_ai.config import AiSettings
from repo_ai.grading_model import shipped_model
from repo_ai.work import ESTIMATE_ABILITY
from repo_ai.worker import Worker


def _state_at_first_claim(monkeypatch: pytest.MonkeyPatch, **worker: object) -> list[object]:
    monkeypatch.setattr(grading_wordnet, "_files", None)
    shipped_model.cache_clear()
    seen: list[object] = []

    def claim(self: Worker) -> list[object]:
        seen.append((grading_wordnet._files is not None, shipped_model.cache_info().currsize))
        return []

    monkeypatch.setattr(Worker, "claim", claim)
    monkeypatch.setattr(Worker, "sweep", lambda self: None)
    Worker(settings=AiSettings(), **worker).run(drain=True)  # type: ignore[arg-type]
    return seen


def test_a_grading_worker_is_warm_before_its_first_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _state_at_first_claim(monkeypatch) == [(True, 1)]


def test_a_worker_that_does_not_grade_loads_neither(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _state_at_first_claim(monkeypatch, kinds=(ESTIMATE_ABILITY,)) == [(False, 0)]
