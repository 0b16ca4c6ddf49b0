"""Throwaway copies of this repository, for tests that run Pants itself (build graph, cache).

Pants runs each test in a sandbox that holds only the test's own dependencies, so these tests find
the real checkout through REPO_ROOT, which the `./pants` launcher exports, and copy it before
touching it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

# One definition for every test that starts a server (tools/servers.py), re-exported.
from tools.servers import free_port as free_loopback_port  # noqa: F401
from tools.servers import port_accepts  # noqa: F401

NESTED_PANTS_TIMEOUT_S = 900


def repo_root() -> Path:
    root = os.environ.get("REPO_ROOT")
    if not root or not (Path(root) / "pants.toml").is_file():
        pytest.fail("REPO_ROOT is not set to the checkout: run these tests through ./pants")
    return Path(root)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=repo-tests", "-c", "user.email=repo-tests@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def copy_repo(dest: Path) -> Path:
    """Copy the working tree (tracked and untracked-but-not-ignored files) into a fresh git repo."""
    source = repo_root()
    listed = git(source, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for rel in filter(None, listed.split("\0")):
        src = source / rel
        if not src.is_file():  # deleted in the working tree but still in the index
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "snapshot")
    return dest


@dataclass(frozen=True)
class PantsResult:
    returncode: int
    stdout: str
    stderr: str


def run_pants(
    repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> PantsResult:
    """Run the copy's own ./pants launcher without a daemon, so nothing outlives the test."""
    full_env = {**os.environ, "PANTS_PANTSD": "false", "PANTS_DYNAMIC_UI": "false", **(env or {})}
    full_env.pop("PEX_EXTRA_SYS_PATH", None)  # set for this test's interpreter, not for Pants
    proc = subprocess.run(
        [str(repo / "pants"), *args],
        cwd=repo,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=NESTED_PANTS_TIMEOUT_S,
    )
    result = PantsResult(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        pytest.fail(f"./pants {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return result
