#!/usr/bin/env python3
"""Wall-clock benchmark of Pants builds in throwaway repo copies, with a BuildGrid remote cache.

Scenarios (all run `./pants --stats-log test <targets>`, with pantsd ON as a developer has it):
  a  cold: fresh copy 1, empty local store (PANTS_LOCAL_STORE_DIR), remote cache read+write on
  b  warm no-op re-run in copy 1 (same daemon, nothing changed)
  c  re-run after appending a comment to one apps/web source file
  d  re-run after appending a comment to one packages/db source file
  e  fresh copy 2 in another directory, empty local store, remote cache (written by a) read-only
Both daemons and the BuildGrid server are stopped at the end; the copies are deleted unless --keep.

"Cold" means an empty Pants store and a new daemon; the pip/pex download caches in
~/.cache/pants/named_caches stay shared, as on any developer machine after the first build.

The default targets exclude the repo-level tests in tests/ (they run Pants themselves, for minutes).

Usage: PYTHONPATH=. python3.11 benchmarks/pants_build.py [--quick] [--targets SPEC ...] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(os.environ.get("REPO_ROOT") or Path(__file__).resolve().parents[1])
os.environ["REPO_ROOT"] = str(REPO_ROOT)  # tests.repo_harness copies the checkout named here

from tests.repo_harness import copy_repo, free_loopback_port, git, port_accepts  # noqa: E402

DEFAULT_TARGETS = ["packages::", "apps::"]
QUICK_TARGETS = ["apps/ai::", "apps/web::"]
WEB_FILE_CANDIDATES = ["apps/web/src/repo_web/catalogue.py"]
DB_FILE_CANDIDATES = ["packages/db/src/repo_db/types.py", "packages/db/src/repo_db/errors.py"]
INSTANCE_NAME = "main"  # tools/buildgrid/cache-server.yml
RUN_TIMEOUT_S = 3600
GOALS = {"a": 0.0, "b": 0.10, "e": 0.25}  # scenario -> maximum ratio to cold (0: the reference)


@dataclass
class Run:
    key: str
    label: str
    seconds: float
    returncode: int
    counters: dict[str, int] = field(default_factory=dict)
    passed: int = 0
    failed: int = 0
    cached_local: int = 0
    cached_remote: int = 0
    memoized: int = 0


def clone_snapshot(repo: Path, dest: Path) -> Path:
    """A second checkout of `repo`'s snapshot commit, in another directory."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(dest.parent, "clone", "-q", str(repo), str(dest))
    return dest


def start_cache_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    script = REPO_ROOT / "tools" / "buildgrid" / "cache-server"
    subprocess.run([str(script), "--install-only"], check=True, stdout=subprocess.DEVNULL)
    port = free_loopback_port()
    log = workdir / "buildgrid.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [str(script), "--port", str(port), "--dir", str(workdir / "buildgrid")],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while not port_accepts(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process_group(proc)
            raise SystemExit(f"BuildGrid did not start, see {log}:\n{log.read_text()[-2000:]}")
        time.sleep(0.5)
    return proc, f"grpc://127.0.0.1:{port}"


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


def stop_pantsd(repo: Path) -> None:
    """Stop the daemon this benchmark started in `repo` (by the pid it recorded), if any."""
    for pid_file in (repo / ".pids").glob("*/pantsd/pid"):
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, OSError):
            continue
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.5)
        else:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def append_comment(repo: Path, candidates: Sequence[str], package_dir: str) -> str:
    existing = [c for c in candidates if (repo / c).is_file()]
    if not existing:
        existing = sorted(
            str(p.relative_to(repo))
            for p in (repo / package_dir).rglob("*.py")
            if p.name != "__init__.py" and "/migrations/" not in str(p)
        )
    if not existing:
        raise SystemExit(f"no Python source to edit under {package_dir}")
    rel = existing[0]
    with (repo / rel).open("a", encoding="utf-8") as f:
        f.write(f"\n# benchmark edit {time.time_ns()}\n")
    return rel


def filters(args: Sequence[str]) -> list[str]:
    return [a for a in args if a.startswith("--")]


def specs(args: Sequence[str]) -> list[str]:
    return [a for a in args if not a.startswith("--")]


def parse_run(run: Run, output: str) -> None:
    for name, value in re.findall(r"^\s*([a-z_]+): (\d+)\s*$", output, re.MULTILINE):
        run.counters[name] = int(value)
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("✓"):
            run.passed += 1
        elif line.startswith(("✕", "𐄂", "✗")):
            run.failed += 1
        else:
            continue
        if "(cached remotely)" in line:
            run.cached_remote += 1
        elif "(cached locally)" in line:
            run.cached_local += 1
        elif "(memoized)" in line:
            run.memoized += 1


def pants(
    key: str, label: str, repo: Path, env: dict[str, str], targets: Sequence[str], logs: Path
) -> Run:
    full_env = {**os.environ, "PANTS_PANTSD": "true", "PANTS_DYNAMIC_UI": "false", **env}
    full_env.pop("PEX_EXTRA_SYS_PATH", None)
    print(f"[{time.strftime('%H:%M:%S')}] {key}: {label} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    proc = subprocess.run(
        [str(repo / "pants"), "--stats-log", *filters(targets), "test", *specs(targets)],
        cwd=repo,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    run = Run(key, label, time.monotonic() - started, proc.returncode)
    (logs / f"{key}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    parse_run(run, proc.stdout + "\n" + proc.stderr)
    print(
        f"[{time.strftime('%H:%M:%S')}] {key}: {run.seconds:.1f}s exit {run.returncode}",
        file=sys.stderr,
        flush=True,
    )
    return run


def print_table(runs: list[Run], targets: Sequence[str], edits: dict[str, str], logs: Path) -> None:
    cold = runs[0].seconds if runs else 0.0
    print()
    print(f"Pants build benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs,")
    print(f"load average at end {os.getloadavg()[0]:.2f}; repo {REPO_ROOT}")
    print(f"command: ./pants --stats-log {' '.join([*filters(targets), 'test', *specs(targets)])}")
    print("(repo-level tests in tests/ are excluded: they run Pants in copies and take minutes)")
    for key, rel in edits.items():
        print(f"scenario {key} edits {rel}")
    print()
    header = (
        f"{'':2} {'scenario':<44} {'seconds':>8} {'x cold':>7} {'goal':>7}  {'exit':>8}  "
        f"{'tests: ok/fail':>14}  {'cached loc/rem/mem':>18}  {'remote hits':>11}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        ratio = run.seconds / cold if cold else 0.0
        goal = GOALS.get(run.key)
        goal_text = (f"<{goal:.0%}" + (" ok" if ratio < goal else " NO")) if goal else ""
        status = "pass" if run.returncode == 0 else f"FAIL({run.returncode})"
        print(
            f"{run.key:2} {run.label:<44} {run.seconds:8.1f} {ratio:7.1%} {goal_text:>7}  "
            f"{status:>8}  {f'{run.passed}/{run.failed}':>14}  "
            f"{f'{run.cached_local}/{run.cached_remote}/{run.memoized}':>18}  "
            f"{run.counters.get('remote_cache_requests_cached', 0):>11}"
        )
    print()
    print("x cold = seconds / seconds of (a). tests ok/fail = test targets reported by Pants.")
    print("cached loc/rem/mem = test results reported '(cached locally)', '(cached remotely)',")
    print("'(memoized)'. remote hits = remote_cache_requests_cached (all processes, --stats-log).")
    if any(run.failed for run in runs):
        print("Failing tests are never cached (locally or remotely): Pants re-runs them in every")
        print("scenario, which inflates b-e. Use --exclude to measure without them.")
    print(f"Full Pants output per scenario: {logs}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Scenarios: a cold, b warm no-op, c apps/web edit, d packages/db edit, "
        "e fresh clone + warm remote cache. Takes 10-20 minutes on 2 cores.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"benchmark only {' '.join(QUICK_TARGETS)} (a few minutes)",
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        metavar="SPEC",
        help=f"target specs to test (default: {' '.join(DEFAULT_TARGETS)})",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="REGEX",
        help="leave out test targets whose address matches REGEX (repeatable; Pants "
        "--filter-address-regex=-REGEX), e.g. a failing test file: failing tests are never "
        "cached, so Pants re-runs them in every scenario",
    )
    parser.add_argument("--keep", action="store_true", help="keep the copies, stores and logs")
    args = parser.parse_args(argv)
    targets = list(args.targets or (QUICK_TARGETS if args.quick else DEFAULT_TARGETS))
    # Global filter options go before the goal; `-path` ignore specs do not drop generated tests.
    targets = [f"--filter-address-regex=-{regex}" for regex in args.exclude] + targets
    if not (REPO_ROOT / "pants.toml").is_file():
        parser.error(f"REPO_ROOT={REPO_ROOT} is not the checkout")

    work = Path(tempfile.mkdtemp(prefix="pants-bench-"))
    logs = work / "logs"
    logs.mkdir()
    runs: list[Run] = []
    edits: dict[str, str] = {}
    copy1 = copy2 = None
    server, address = start_cache_server(work)
    try:
        remote = {
            "PANTS_REMOTE_STORE_ADDRESS": address,
            "PANTS_REMOTE_INSTANCE_NAME": INSTANCE_NAME,
        }
        env1 = {
            **remote,
            "PANTS_LOCAL_STORE_DIR": str(work / "store-1"),
            "PANTS_REMOTE_CACHE_READ": "true",
            "PANTS_REMOTE_CACHE_WRITE": "true",
        }
        copy1 = copy_repo(work / "copy-1")
        # Copy 2 is a clone of the same snapshot, taken now: the working tree may change meanwhile.
        copy2 = clone_snapshot(copy1, work / "elsewhere" / "copy-2")
        runs.append(
            pants("a", "cold (empty store, new pantsd, remote write)", copy1, env1, targets, logs)
        )
        runs.append(pants("b", "warm no-op re-run (pantsd)", copy1, env1, targets, logs))
        edits["c"] = append_comment(copy1, WEB_FILE_CANDIDATES, "apps/web/src")
        runs.append(pants("c", "after editing one apps/web file", copy1, env1, targets, logs))
        edits["d"] = append_comment(copy1, DB_FILE_CANDIDATES, "packages/db/src")
        runs.append(pants("d", "after editing one packages/db file", copy1, env1, targets, logs))
        stop_pantsd(copy1)

        env2 = {
            **remote,
            "PANTS_LOCAL_STORE_DIR": str(work / "store-2"),
            "PANTS_REMOTE_CACHE_READ": "true",
            "PANTS_REMOTE_CACHE_WRITE": "false",
        }
        runs.append(
            pants("e", "fresh clone, empty store, warm remote cache", copy2, env2, targets, logs)
        )
    finally:
        for repo in (copy1, copy2):
            if repo is not None:
                stop_pantsd(repo)
        stop_process_group(server)
        print_table(runs, targets, edits, logs)
        if not args.keep:
            keep = Path(tempfile.mkdtemp(prefix="pants-bench-logs-"))
            shutil.copytree(logs, keep, dirs_exist_ok=True)
            shutil.rmtree(work, ignore_errors=True)
            print(f"(logs copied to {keep}; work dir {work} removed)")
    return 0 if runs and all(run.returncode == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
