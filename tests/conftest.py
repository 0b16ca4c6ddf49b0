from __future__ import annotations

from pathlib import Path

import pytest

from tests.repo_harness import copy_repo


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A committed copy of the current working tree, in its own git repository."""
    return copy_repo(tmp_path / "repo")
