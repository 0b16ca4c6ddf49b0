"""The team remote cache: a real BuildGrid server (tools/buildgrid/cache-server) and Pants' client.

Clone A runs a small test with an empty local store and remote writes on; clone B, in another
directory with another empty local store, must then get that test's result from the server ("cached
remotely") without starting any cacheable process locally (the plugin in
pants-plugins/remote_cache_speculation makes Pants wait for the cache's answer). A third run checks
that a configured but unreachable server only costs warnings, never a failure. See
docs/remote-cache.md.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.repo_harness import (
    PantsResult,
    copy_repo,
    free_loopback_port,
    git,
    port_accepts,
    repo_root,
    run_pants,
)
from tools import servers

# Small and fast, with a third-party requirement (numpy), so the run builds real pexes too.
TARGET = "apps/ai/tests/repo_ai_tests/test_ability.py"
INSTANCE_NAME = "main"  # the instance in tools/buildgrid/cache-server.yml
INSTALL_TIMEOUT_S = 900  # first use creates BuildGrid's virtualenv (pip install)
STARTUP_TIMEOUT_S = 90
# Pants' local runner logs each process it spawns, with its cache scope, at debug level; only that
# module is raised to debug.
LOG_SPAWNED = "--log-levels-by-target={'process_execution::local': 'debug'}"
SPAWNED = re.compile(
    r'spawned local process as .*?description: "((?:[^"\\]|\\.)*)".*?cache_scope: (\w+)'
)


@dataclass(frozen=True)
class CacheServer:
    address: str
    log: Path
    proc: subprocess.Popen[bytes]

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def cache_server_script() -> Path:
    return repo_root() / "tools" / "buildgrid" / "cache-server"


@pytest.fixture(scope="module")
def cache_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CacheServer]:
    """BuildGrid on a free loopback port with throwaway storage; killed (process group) after."""
    script = cache_server_script()
    workdir = tmp_path_factory.mktemp("buildgrid")
    # One-time virtualenv creation gets its own, longer timeout than the server start-up.
    install = subprocess.run(
        [str(script), "--install-only"], capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
    )
    assert install.returncode == 0, f"cache-server --install-only failed:\n{install.stderr[-3000:]}"

    port = free_loopback_port()
    log = workdir / "server.log"
    # A tools.servers server: its own process group, stopped after the module's tests, and by the
    # watchdog should this test process be killed.
    proc = servers.spawn(
        "buildgrid",
        [str(script), "--port", str(port), "--dir", str(workdir / "storage")],
        log=log,
    )
    server = CacheServer(address=f"grpc://127.0.0.1:{port}", log=log, proc=proc)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not port_accepts(port):
            if proc.poll() is not None:
                pytest.fail(f"cache-server exited {proc.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"cache-server not listening after {STARTUP_TIMEOUT_S}s:\n{server.log_tail()}"
                )
            time.sleep(0.5)
        yield server
    finally:
        servers.stop_process(proc)


def remote_cache_env(address: str, store: Path, *, write: bool) -> dict[str, str]:
    """An empty local store and the given server; named caches (pip/pex downloads) stay shared."""
    return {
        "PANTS_LOCAL_STORE_DIR": str(store),
        "PANTS_REMOTE_CACHE_READ": "true",
        "PANTS_REMOTE_CACHE_WRITE": "true" if write else "false",
        "PANTS_REMOTE_STORE_ADDRESS": address,
        "PANTS_REMOTE_INSTANCE_NAME": INSTANCE_NAME,
    }


def counter(result: PantsResult, name: str) -> int:
    """A counter from the `--stats-log` summary, e.g. `  remote_cache_requests_cached: 5`."""
    match = re.search(rf"^\s*{re.escape(name)}: (\d+)\s*$", result.stderr, re.MULTILINE)
    assert match, f"no {name} in the stats log:\n{result.stderr[-3000:]}"
    return int(match.group(1))


def test_cache_server_help_says_what_it_does() -> None:
    proc = subprocess.run(
        [str(cache_server_script()), "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "BuildGrid" in proc.stdout
    assert "cache" in proc.stdout
    for flag in ("--port", "--dir", "PANTS_REMOTE_STORE_ADDRESS"):
        assert flag in proc.stdout


def test_second_clone_gets_test_result_from_remote_cache(
    cache_server: CacheServer, tmp_path: Path
) -> None:
    clone_a = copy_repo(tmp_path / "clone-a")
    # B: the same snapshot (the working tree may change meanwhile), at another path.
    clone_b = tmp_path / "elsewhere" / "clone-b"
    clone_b.parent.mkdir()
    git(tmp_path, "clone", "-q", str(clone_a), str(clone_b))
    first = run_pants(
        clone_a,
        "--stats-log",
        "test",
        TARGET,
        env=remote_cache_env(cache_server.address, tmp_path / "store-a", write=True),
    )
    assert counter(first, "remote_cache_write_successes") > 0, (
        f"clone A wrote nothing to the cache:\n{first.stderr[-3000:]}\n"
        f"server log:\n{cache_server.log_tail()}"
    )

    # Another path and another empty local store: only the remote cache can make this a hit.
    second = run_pants(
        clone_b,
        "--stats-log",
        LOG_SPAWNED,
        "test",
        TARGET,
        env=remote_cache_env(cache_server.address, tmp_path / "store-b", write=False),
    )
    output = second.stdout + second.stderr
    assert re.search(r"succeeded in .*\(cached remotely\)", output), (
        f"the test result did not come from the remote cache:\n{output[-4000:]}\n"
        f"server log:\n{cache_server.log_tail()}"
    )
    assert counter(second, "remote_cache_requests_cached") > 0
    assert counter(second, "remote_cache_read_errors") == 0
    spawned = SPAWNED.findall(output)
    # Binary and interpreter discovery always run (cache scope PER_RESTART: never cached remotely);
    # seeing them proves the log lines are there to check.
    assert spawned, f"no 'spawned local process' lines at debug level:\n{output[-3000:]}"
    cacheable = [desc for desc, scope in spawned if not scope.startswith("PerRestart")]
    assert cacheable == [], "cacheable processes ran locally although the cache holds them"


def test_unreachable_cache_server_only_warns(repo_copy: Path, tmp_path: Path) -> None:
    """Developers without a server (or off the network) keep working: warnings, exit code 0."""
    dead_address = f"grpc://127.0.0.1:{free_loopback_port()}"  # nothing listens there
    result = run_pants(
        repo_copy,
        "--stats-log",
        "test",
        TARGET,
        env=remote_cache_env(dead_address, tmp_path / "store", write=True),
    )
    assert "remote cache" in result.stderr  # "Failed to read from/write to remote cache"
    assert counter(result, "remote_cache_requests_cached") == 0
