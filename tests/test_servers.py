"""Every server a test starts is stopped whatever happens to the test (tools/servers.py).

A child pytest starts a private PostgreSQL cluster (in a fixture, as the fault and replica tests
do) and a server process that has a child of its own (spawned, and left to tools.servers), writes
down their pids, ports and directories and, once the parent has seen all of them running,
passes, fails, errors in set-up, or is interrupted with SIGINT, SIGTERM or SIGKILL. Afterwards
nothing of them is left: the pids are gone, the ports are free, ``postmaster.pid`` and the
cluster's directory are gone. Except after SIGKILL (which no process can handle: the watchdog
process does it) this must already hold when the child has exited.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tools.servers import pid_alive, port_accepts

CHILD = """
import json, os, sys, time
from pathlib import Path
from typing import Any

import pytest

from tools import servers

MODE = os.environ["SERVERS_CHILD_MODE"]
STATE = Path(os.environ["SERVERS_CHILD_STATE"])


def _start_everything(tmp: Path) -> dict:
    cluster = servers.PostgresCluster(prefix="repo-servers-test-")
    port = servers.free_port()
    server = servers.spawn(
        "http",
        ["bash", "-c", f"sleep 600 & echo $! > {tmp}/grandchild.pid; "
         f"exec {sys.executable} -m http.server --bind 127.0.0.1 {port}"],
    )
    while not servers.port_accepts(port) or not (tmp / "grandchild.pid").exists():
        assert server.poll() is None
        time.sleep(0.1)
    return {"cluster": cluster, "port": port, "server": server}


@pytest.fixture()
def started(tmp_path):
    things = _start_everything(tmp_path)
    with things["cluster"] as cluster:
        state = {
            "pg_dir": str(cluster.dir),
            "pg_pidfile": str(cluster.pidfile),
            "pg_pid": cluster.postmaster_pid(),
            "pg_port": cluster.port,
            "http_pid": things["server"].pid,
            "http_port": things["port"],
            "grandchild_pid": int((tmp_path / "grandchild.pid").read_text()),
            "watchdog_pid": servers.watchdog_pid(),
        }
        # Written aside, then renamed: the parent waits for the name, never reads half a file.
        STATE.with_suffix(".tmp").write_text(json.dumps(state))
        STATE.with_suffix(".tmp").rename(STATE)
        go = STATE.with_name("go")
        while not go.exists():  # the parent has seen everything running
            time.sleep(0.05)
        if MODE == "setup-error":
            raise RuntimeError("set-up failed after starting the servers")
        yield state


def test_child(started):
    if MODE == "fail":
        assert False, "a failing test"
    if MODE.startswith("SIG"):
        STATE.with_name("in-test").touch()
        time.sleep(600)  # until the parent's signal
"""
PIDS = ("pg_pid", "http_pid", "grandchild_pid")
PORTS = ("pg_port", "http_port")
PATHS = ("pg_pidfile", "pg_dir")
EXPECTED_EXIT = {
    "pass": 0,
    "fail": 1,
    "setup-error": 1,
    "SIGINT": 2,  # pytest: interrupted
    "SIGTERM": -signal.SIGTERM,
    "SIGKILL": -signal.SIGKILL,
}


def _left(state: dict[str, Any]) -> list[str]:
    """What is left of the child's servers (empty: nothing)."""
    pids = [f"{k} {state[k]} alive" for k in PIDS if pid_alive(state[k])]
    ports = [f"{k} {state[k]} accepts" for k in PORTS if port_accepts(state[k])]
    paths = [f"{k} {state[k]} exists" for k in PATHS if Path(state[k]).exists()]
    return pids + ports + paths


@pytest.mark.parametrize("mode", list(EXPECTED_EXIT))
def test_no_server_outlives_the_test_that_started_it(mode: str, tmp_path: Path) -> None:
    (tmp_path / "test_child.py").write_text(CHILD)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    state_file = tmp_path / "state.json"
    env = {
        **os.environ,
        "SERVERS_CHILD_MODE": mode,
        "SERVERS_CHILD_STATE": str(state_file),
        "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
    }
    log = tmp_path / "child.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_child.py"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        while not state_file.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert state_file.exists(), f"the child started nothing:\n{log.read_text()[-3000:]}"
        state = json.loads(state_file.read_text())
        # They really ran: everything is there before the end.
        assert len(_left(state)) == len(PIDS + PORTS + PATHS), _left(state)
        (tmp_path / "go").touch()
        if mode.startswith("SIG"):
            while not (tmp_path / "in-test").exists() and child.poll() is None:
                time.sleep(0.05)
            child.send_signal(getattr(signal, mode))
        returncode = child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert returncode == EXPECTED_EXIT[mode], log.read_text()[-3000:]
    if mode != "SIGKILL":
        # Stopped by the child itself (fixture finalizer, atexit or the signal handler).
        assert _left(state) == [], log.read_text()[-3000:]
    # After SIGKILL only the watchdog can do it; it exits once it has stopped everything.
    deadline = time.monotonic() + 90
    while pid_alive(state["watchdog_pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(state["watchdog_pid"]), "the watchdog did not finish"
    assert _left(state) == [], log.read_text()[-3000:]
