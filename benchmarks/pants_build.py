#!/usr/bin/env python3
"""Wall-clock benchmark of Pants builds in throwaway repo copies, with a BuildGrid remote cache.

Every scenario runs `./pants --stats-log test <targets>` with pantsd ON, as a developer has it,
and is sampled --samples times (default 3; the cold scenarios --cold-samples times, default 1,
because each takes minutes: say so when quoting them):

  a1 cold: new copy, new pantsd, empty local store; download caches (pip/pex named caches, the
     ./pants bootstrap venv) kept warm, as on a developer machine after its first build
  a2 cold, truly: as a1 AND empty download caches (PANTS_NAMED_CACHES_DIR, PEX_ROOT inside it,
     PIP_CACHE_DIR, PANTS_BOOTSTRAP_CACHE all pointed at new empty temp dirs), as on a new machine
  -- one unmeasured run fills the remote cache (uploads are never part of a "cold" figure) --
  b  warm no-op re-run (same pantsd, nothing changed)
  c  re-run after appending a comment to one apps/web source file
  d  re-run after appending a comment to one packages/db source file
  e  fresh clone in another directory, new pantsd, empty local store, warm remote cache (read)
and the start-up floor with its breakdown, each step in its own fresh clone with a new pantsd
and an empty store (so each includes everything before it):
  f1 `./pants --version`        (launcher, bootstrap venv, options)
  f2 `./pants list <targets>`   (+ pantsd start, scheduler, BUILD parsing): THE FLOOR, the
     "no-op ./pants in a new checkout" that (e) cannot beat
  f3 `./pants dependencies <targets>` (+ dependency inference over every source)
(e) is reported as a ratio to (a1) and to the floor (f2), with the processes it ran locally
(`local_execution_requests` from --stats-log; goal 0) and its breakdown (f1, f2-f1, f3-f2, e-f3).
Every process Pants starts locally is classified from Pants' own debug lines (only the two log
targets that name them are raised to debug): environment probes that Pants never caches
(binary and interpreter discovery, cache scope PER_RESTART), cacheable processes that missed the
remote cache, and cacheable processes started while their remote lookup was still pending.
Nothing is asserted: the script prints numbers. Daemons and BuildGrid are stopped at the end; the
copies are deleted unless --keep.

The default targets exclude the repo-level tests in tests/ (they run Pants themselves, for minutes).

Usage: PYTHONPATH=. python3.11 benchmarks/pants_build.py [--quick] [--samples N] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(os.environ.get("REPO_ROOT") or Path(__file__).resolve().parents[1])
os.environ["REPO_ROOT"] = str(REPO_ROOT)  # tests.repo_harness copies the checkout named here

from tests.repo_harness import copy_repo, free_loopback_port, git, port_accepts  # noqa: E402
from tools import servers  # noqa: E402

DEFAULT_TARGETS = ["packages::", "apps::"]
QUICK_TARGETS = ["apps/ai::", "apps/web::"]
WEB_FILE_CANDIDATES = ["apps/web/src/repo_web/catalogue.py"]
DB_FILE_CANDIDATES = ["packages/db/src/repo_db/types.py", "packages/db/src/repo_db/errors.py"]
INSTANCE_NAME = "main"  # tools/buildgrid/cache-server.yml
# Debug output of exactly two Rust modules of Pants 2.17: the local runner logs every process it
# spawns (with its cache scope), the remote-cache runner every miss.
LOG_LEVELS = "{'process_execution::local': 'debug', 'remote::remote_cache': 'debug'}"
SPAWNED = re.compile(
    r'spawned local process as .*?description: "((?:[^"\\]|\\.)*)".*?cache_scope: (\w+)'
)
MISSED = re.compile(r'remote cache miss for: "((?:[^"\\]|\\.)*)"')
PROBE = "environment probe, never cached (binary/interpreter discovery)"
MISS = "cacheable, missed the remote cache"
SPECULATIVE = "cacheable, started before its remote-cache answer"
UNCACHED = "not cacheable in this run (per session, or remote cache off)"
RUN_TIMEOUT_S = 3600
GOAL_E_TO_FLOOR = 1.3


@dataclass
class Run:
    key: str
    label: str
    seconds: float
    returncode: int
    load: tuple[float, float] = (0.0, 0.0)
    counters: dict[str, int] = field(default_factory=dict)
    passed: int = 0
    failed: int = 0
    cached_local: int = 0
    cached_remote: int = 0
    memoized: int = 0
    # (kind, description) of every process Pants started locally
    local_processes: list[tuple[str, str]] = field(default_factory=list)


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
    proc = servers.spawn(
        "buildgrid",
        [str(script), "--port", str(port), "--dir", str(workdir / "buildgrid")],
        log=log,
    )
    deadline = time.monotonic() + 90
    while not port_accepts(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            servers.stop_process(proc)
            raise SystemExit(f"BuildGrid did not start, see {log}:\n{log.read_text()[-2000:]}")
        time.sleep(0.5)
    return proc, f"grpc://127.0.0.1:{port}"


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


def classify(scope: str, description: str, missed: set[str], remote_read: bool) -> str:
    if scope.startswith("PerRestart"):
        return PROBE
    if scope in ("Successful", "Always") and remote_read:
        return MISS if description in missed else SPECULATIVE
    return UNCACHED


def parse_run(run: Run, output: str, remote_read: bool = False) -> None:
    for name, value in re.findall(r"^\s*([a-z_]+): (\d+)\s*$", output, re.MULTILINE):
        run.counters[name] = int(value)
    missed = set(MISSED.findall(output))
    run.local_processes = [
        (classify(scope, desc, missed, remote_read), desc)
        for desc, scope in SPAWNED.findall(output)
    ]
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
    key: str,
    label: str,
    repo: Path,
    env: dict[str, str],
    targets: Sequence[str],
    logs: Path,
    goal: Sequence[str] = ("test",),
) -> Run:
    full_env = {**os.environ, "PANTS_PANTSD": "true", "PANTS_DYNAMIC_UI": "false", **env}
    full_env.pop("PEX_EXTRA_SYS_PATH", None)
    cmd = [str(repo / "pants")]
    if list(goal) != ["--version"]:
        cmd += ["--stats-log", f"--log-levels-by-target={LOG_LEVELS}"]
        cmd += [*filters(targets), *goal, *specs(targets)]
    else:
        cmd += list(goal)
    print(f"[{time.strftime('%H:%M:%S')}] {key}: {label} ...", file=sys.stderr, flush=True)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.run(
        cmd, cwd=repo, env=full_env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    run = Run(key, label, time.monotonic() - started, proc.returncode)
    run.load = (load_before, os.getloadavg()[0])
    n = len(list(logs.glob(f"{key}-*.log")))
    (logs / f"{key}-{n + 1}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    remote_read = full_env.get("PANTS_REMOTE_CACHE_READ", "").lower() == "true"
    parse_run(run, proc.stdout + "\n" + proc.stderr, remote_read)
    print(
        f"[{time.strftime('%H:%M:%S')}] {key}: {run.seconds:.1f}s exit {run.returncode} "
        f"(load {run.load[0]:.2f}->{run.load[1]:.2f})",
        file=sys.stderr,
        flush=True,
    )
    return run


def med(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs) if runs else float("nan")


def spread(runs: list[Run]) -> str:
    values = [r.seconds for r in runs]
    return "/".join(f"{v:.1f}" for v in (min(values), statistics.median(values), max(values)))


def print_table(
    runs: dict[str, list[Run]], targets: Sequence[str], edits: dict[str, str], logs: Path
) -> None:
    cold = med(runs.get("a1", []))
    floor = med(runs.get("f2", []))
    print()
    print(f"Pants build benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs;")
    print(f"repo {REPO_ROOT}")
    print(f"command: ./pants --stats-log {' '.join([*filters(targets), 'test', *specs(targets)])}")
    print("(repo-level tests in tests/ are excluded: they run Pants in copies and take minutes)")
    for key, rel in edits.items():
        print(f"scenario {key} edits {rel}")
    print()
    header = (
        f"{'':3} {'scenario':<50} {'n':>2} {'s min/med/max':>17} {'x a1':>6} {'x floor':>7} "
        f"{'exit':>5} {'tests ok/fail':>13} {'loc/rem/memo':>12} {'procs run':>9} {'load':>11}"
    )
    print(header)
    print("-" * len(header))
    for key, samples in runs.items():
        if not samples:
            continue
        first = samples[-1]
        exits = ",".join(sorted({str(r.returncode) for r in samples}))
        procs = "/".join(str(r.counters.get("local_execution_requests", 0)) for r in samples)
        loads = [x for r in samples for x in r.load]
        print(
            f"{key:3} {first.label:<50} {len(samples):>2} {spread(samples):>17} "
            f"{med(samples) / cold if cold else 0:6.2f} "
            f"{med(samples) / floor if floor else 0:7.2f} "
            f"{exits:>5} {f'{first.passed}/{first.failed}':>13} "
            f"{f'{first.cached_local}/{first.cached_remote}/{first.memoized}':>12} {procs:>9} "
            f"{min(loads):5.2f}-{max(loads):<5.2f}"
        )
    print()
    print("x a1 / x floor = median seconds / median of (a1) or of the floor (f2). loc/rem/memo =")
    print("test results '(cached locally)', '(cached remotely)', '(memoized)' in the last sample.")
    print("procs run = processes Pants started locally (local_execution_requests), per sample.")
    print_local_processes(runs)
    if all(k in runs and runs[k] for k in ("f1", "f2", "f3", "e")):
        f1, f2, f3, e = (med(runs[k]) for k in ("f1", "f2", "f3", "e"))
        print()
        print("fresh clone with a warm remote cache (e), where the time goes (medians):")
        print(f"  launcher + bootstrap venv + options (f1)           {f1:6.1f} s")
        print(f"  + pantsd start, scheduler, BUILD parsing (f2 - f1) {f2 - f1:6.1f} s")
        print(f"  + dependency inference (f3 - f2)                   {f3 - f2:6.1f} s")
        print(f"  + test results from the remote cache (e - f3)      {e - f3:6.1f} s")
        print(f"  = e                                                {e:6.1f} s")
        ratio = e / f2
        procs_e = max(r.counters.get("local_execution_requests", 0) for r in runs["e"])
        last = runs["e"][-1].counters
        print(
            f"  remote cache in e (last sample): {last.get('remote_cache_requests_cached', 0)} "
            f"hits of {last.get('remote_cache_requests', 0)} lookups; local cache hits "
            f"{last.get('local_cache_requests_cached', 0)}"
        )
        worst = max(runs["e"], key=lambda r: r.counters.get("local_execution_requests", 0))
        probes = sum(kind == PROBE for kind, _ in worst.local_processes)
        print(
            f"  e / floor = {ratio:.2f} (goal <= {GOAL_E_TO_FLOOR}: "
            f"{'met' if ratio <= GOAL_E_TO_FLOOR else 'missed'}); e / cold (a1) = {e / cold:.2f}; "
            f"processes run locally in e: {procs_e} "
            f"(goal 0: {'met' if procs_e == 0 else 'missed'}; "
            f"{procs_e - probes} of them cacheable work, {probes} environment probes)"
        )
    if any(r.failed for samples in runs.values() for r in samples):
        print("Failing tests are never cached (locally or remotely): Pants re-runs them in every")
        print("scenario, which inflates b-e. Use --exclude to measure without them.")
    print(f"Full Pants output per scenario and sample: {logs}")


def print_local_processes(runs: dict[str, list[Run]]) -> None:
    """What the processes of the remote-cache scenarios were, by kind (last sample)."""
    for key in ("f3", "e"):
        if not runs.get(key):
            continue
        last = runs[key][-1]
        kinds = Counter(kind for kind, _ in last.local_processes)
        print()
        print(f"processes {key} started locally (last sample), by kind:")
        for kind in (PROBE, MISS, SPECULATIVE, UNCACHED):
            print(f"  {kinds.get(kind, 0):3} {kind}")
        for kind, desc in last.local_processes:
            if kind in (MISS, SPECULATIVE, UNCACHED):
                print(f"      {kind.split(',')[-1].strip()}: {desc[:100]}")


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
    parser.add_argument("--samples", type=int, default=3, help="samples per scenario (b-f)")
    parser.add_argument(
        "--cold-samples", type=int, default=1, help="samples of a1 and a2 (minutes each)"
    )
    parser.add_argument(
        "--skip-a2", action="store_true", help="skip the cold run with empty download caches"
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
    runs: dict[str, list[Run]] = {k: [] for k in ("a1", "a2", "b", "c", "d", "f1", "f2", "f3", "e")}
    edits: dict[str, str] = {}
    repos: list[Path] = []
    server, address = start_cache_server(work)
    counter = iter(range(1_000_000))

    def new_clone(snapshot: Path) -> Path:
        clone = clone_snapshot(snapshot, work / "clones" / f"c{next(counter)}" / "repo")
        repos.append(clone)
        return clone

    def store(name: str) -> str:
        return str(work / "stores" / f"{name}-{next(counter)}")

    remote = {"PANTS_REMOTE_STORE_ADDRESS": address, "PANTS_REMOTE_INSTANCE_NAME": INSTANCE_NAME}
    no_remote = {"PANTS_REMOTE_CACHE_READ": "false", "PANTS_REMOTE_CACHE_WRITE": "false"}
    try:
        snapshot = copy_repo(work / "snapshot")
        repos.append(snapshot)
        for _ in range(args.cold_samples):
            repo = new_clone(snapshot)
            env = {**no_remote, "PANTS_LOCAL_STORE_DIR": store("a1")}
            runs["a1"].append(
                pants("a1", "cold: empty store (download caches warm)", repo, env, targets, logs)
            )
            stop_pantsd(repo)
        if not args.skip_a2:
            for _ in range(args.cold_samples):
                repo = new_clone(snapshot)
                empty = work / "empty-caches" / f"s{next(counter)}"
                env = {
                    **no_remote,
                    "PANTS_LOCAL_STORE_DIR": store("a2"),
                    "PANTS_NAMED_CACHES_DIR": str(empty / "named_caches"),
                    "PIP_CACHE_DIR": str(empty / "pip"),
                    "PANTS_BOOTSTRAP_CACHE": str(empty / "bootstrap"),
                }
                runs["a2"].append(
                    pants(
                        "a2",
                        "cold: empty store AND empty download caches",
                        repo,
                        env,
                        targets,
                        logs,
                    )
                )
                stop_pantsd(repo)
        # Fill the remote cache (not measured), then the incremental scenarios in that copy.
        copy1 = new_clone(snapshot)
        env1 = {
            **remote,
            "PANTS_LOCAL_STORE_DIR": store("w"),
            "PANTS_REMOTE_CACHE_READ": "true",
            "PANTS_REMOTE_CACHE_WRITE": "true",
        }
        upload = pants("fill", "fill the remote cache (not measured)", copy1, env1, targets, logs)
        print(
            f"remote cache filled in {upload.seconds:.1f}s (exit {upload.returncode})",
            file=sys.stderr,
        )
        for _ in range(args.samples):
            runs["b"].append(pants("b", "warm no-op re-run (pantsd)", copy1, env1, targets, logs))
        for _ in range(args.samples):
            edits["c"] = append_comment(copy1, WEB_FILE_CANDIDATES, "apps/web/src")
            runs["c"].append(
                pants("c", "after editing one apps/web file", copy1, env1, targets, logs)
            )
        for _ in range(args.samples):
            edits["d"] = append_comment(copy1, DB_FILE_CANDIDATES, "packages/db/src")
            runs["d"].append(
                pants("d", "after editing one packages/db file", copy1, env1, targets, logs)
            )
        stop_pantsd(copy1)

        read_only = {
            **remote,
            "PANTS_REMOTE_CACHE_READ": "true",
            "PANTS_REMOTE_CACHE_WRITE": "false",
        }
        steps = (
            ("f1", "floor step: ./pants --version, new clone", ("--version",)),
            ("f2", "FLOOR: ./pants list, new clone + pantsd", ("list",)),
            ("f3", "floor step: ./pants dependencies, new clone", ("dependencies",)),
            ("e", "fresh clone, empty store, warm remote cache", ("test",)),
        )
        for _ in range(args.samples):
            for key, label, goal in steps:  # interleaved: one of each per round
                repo = new_clone(snapshot)
                env = {**read_only, "PANTS_LOCAL_STORE_DIR": store(key)}
                runs[key].append(pants(key, label, repo, env, targets, logs, goal))
                stop_pantsd(repo)
    finally:
        for repo in repos:
            stop_pantsd(repo)
        servers.stop_process(server)
        print_table(runs, targets, edits, logs)
        if not args.keep:
            keep = Path(tempfile.mkdtemp(prefix="pants-bench-logs-"))
            shutil.copytree(logs, keep, dirs_exist_ok=True)
            shutil.rmtree(work, ignore_errors=True)
            print(f"(logs copied to {keep}; work dir {work} removed)")
    return 0 if all(r.returncode == 0 for samples in runs.values() for r in samples) else 1


if __name__ == "__main__":
    sys.exit(main())
