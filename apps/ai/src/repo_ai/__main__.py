"""`python -m repo_ai worker` runs the worker; `python -m repo_ai --help` lists the commands."""

from __future__ import annotations

from repo_ai.cli import main

if __name__ == "__main__":
    main()
