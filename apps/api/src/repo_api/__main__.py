"""Entry point: `python -m repo_api --help`."""

from __future__ import annotations

import sys

from repo_api.serve import main

if __name__ == "__main__":
    sys.exit(main())
