"""The ./pants launcher: cold start into an empty cache, concurrency, clear errors."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.repo_harness import repo_root

COLD_START_TIMEOUT_S = 600


def _launch(
    *args: str, cache: Path, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PANTS_BOOTSTRAP_CACHE": str(cache), **(extra_env or {})}
    return subprocess.run(
        [str(repo_root() / "pants"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COLD_START_TIMEOUT_S,
    )


def test_two_concurrent_cold_starts_share_one_complete_cache(tmp_path: Path) -> None:
    cache = tmp_path / "bootstrap-cache"
    subdir = repo_root() / "apps" / "web"  # works from any directory inside the repo
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(
            pool.map(
                lambda _: _launch("--no-pantsd", "--version", cache=cache, cwd=subdir), range(2)
            )
        )
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.strip() == "2.17.1"
    venvs = [p for p in cache.iterdir() if p.name.startswith("pants-")]
    assert len(venvs) == 1 and (venvs[0] / ".complete").is_file()
    (pex_marker,) = cache.glob("pex-tool/*/pex.complete")
    sha, size = pex_marker.read_text().split()
    assert int(size) == (pex_marker.parent / "pex").stat().st_size
    assert len(sha) == 64
    assert not (cache / ".lock").exists()
    # Both announced the one-time work at most once between them: the loser waited for the winner.
    announcements = sum(r.stderr.count("creating Pants") for r in runs)
    assert announcements == 1


def test_unsupported_interpreter_is_refused_with_advice(tmp_path: Path) -> None:
    python311 = subprocess.run(
        ["python3.11", "-c", "import sys; print(sys.executable)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    run = _launch(
        "--version",
        cache=tmp_path / "cache",
        cwd=repo_root(),
        extra_env={"PANTS_BOOTSTRAP_PYTHON": python311},
    )
    assert run.returncode != 0
    assert "is not CPython 3.7-3.9" in run.stderr
    assert not (tmp_path / "cache").exists()


def test_no_interpreter_found_says_what_to_install(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    for tool in ("dirname", "cat", "mkdir", "rm", "sleep"):
        (empty_bin / tool).symlink_to(f"/bin/{tool}")
    env = {"PATH": str(empty_bin), "HOME": str(tmp_path), "PANTS_BOOTSTRAP_CACHE": str(tmp_path)}
    run = subprocess.run(
        ["/bin/bash", str(repo_root() / "pants"), "--version"],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "needs CPython 3.7, 3.8 or 3.9 and none was found" in run.stderr
    assert "pyenv install 3.9" in run.stderr
