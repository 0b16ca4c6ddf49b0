"""The commands apps/ai/README.md shows exist, with the options it shows, and it shows them all.

A command renamed or removed without its README line, or a new command nobody documented, fails
here. Each command is asked for its `--help` (nothing runs against a database).
"""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from repo_ai.cli import app

README = Path("apps/ai/README.md")  # a dependency of this test (apps/ai/BUILD)
# `./pants run apps/ai -- calibrate ...` or `python -m repo_ai worker --drain`
INVOCATION = re.compile(r"^(?:\./pants run apps/ai(?: --)?|python -m repo_ai)(?P<args>[^#]*)")


def readme_invocations(text: str) -> list[list[str]]:
    """The arguments of every command line in the README's code blocks."""
    return [
        match.group("args").split()
        for line in text.splitlines()
        if (match := INVOCATION.match(line.strip()))
    ]


def test_readme_commands_exist_with_their_options() -> None:
    invocations = readme_invocations(README.read_text())
    assert len(invocations) >= 5, "no command block found in apps/ai/README.md"
    runner = CliRunner()
    for args in invocations:
        command = [a for a in args if not a.startswith("-")]
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, f"`{' '.join(args)}` from the README: {result.output}"
        for option in (a for a in args if a.startswith("--") and a != "--help"):
            assert option in result.output, f"`{' '.join(args)}`: {option} is not an option"


def test_readme_shows_every_command() -> None:
    shown = {args[0] for args in readme_invocations(README.read_text()) if args}
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    assert commands, "the CLI registers no command"
    assert sorted(commands - shown) == [], "commands missing from apps/ai/README.md"
