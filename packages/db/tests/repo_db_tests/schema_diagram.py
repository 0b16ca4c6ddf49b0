"""The schema as a Mermaid ER diagram, generated from ``repo_db.models`` by paracelsus.

``./pants run packages/db/tests/repo_db_tests/schema_diagram.py`` rewrites the diagram in
packages/db/README.md (between the markers); ``test_readme.py`` fails while the README's copy
differs from the models.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from paracelsus.graph import get_graph_string

README = Path("packages/db/README.md")
BEGIN = "<!-- schema diagram: generated from repo_db.models by paracelsus, do not edit -->"
END = "<!-- end of schema diagram -->"


def mermaid() -> str:
    """The diagram of every table in ``repo_db.models`` (columns sorted: keys first)."""
    return get_graph_string(
        base_class_path="repo_db.models.base:Base",
        import_module=["repo_db.models"],
        include_tables=set(),
        exclude_tables=set(),
        python_dir=[],
        format="mermaid",
        column_sort="key-based",
    ).strip()


def block(diagram: str) -> str:
    return f"{BEGIN}\n```mermaid\n{diagram}\n```\n{END}"


def current_block(readme_text: str) -> str:
    """The README's diagram block (markers included); empty when the markers are missing."""
    start, end = readme_text.find(BEGIN), readme_text.find(END)
    if start < 0 or end < start:
        return ""
    return readme_text[start : end + len(END)]


def main() -> int:
    root = Path(os.environ.get("REPO_ROOT", "."))
    path = root / README
    text = path.read_text()
    old = current_block(text)
    if not old:
        print(f"{path}: markers not found ({BEGIN!r} ... {END!r})", file=sys.stderr)
        return 1
    path.write_text(text.replace(old, block(mermaid())))
    print(f"updated the schema diagram in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
