"""packages/db/README.md tells the truth: its schema diagram is the one the models generate."""

from __future__ import annotations

from pathlib import Path

from repo_db_tests.schema_diagram import README, block, current_block, mermaid


def test_readme_schema_diagram_matches_the_models() -> None:
    text = Path(README).read_text()  # the README is a dependency of this test (BUILD)
    expected = block(mermaid())
    assert "erDiagram" in expected and "users {" in expected
    assert current_block(text) == expected, (
        "the schema diagram in packages/db/README.md is stale: run "
        "`./pants run packages/db/tests/repo_db_tests/schema_diagram.py` and commit the README"
    )
