"""`./pants run :dev`: the whole platform on one machine, like `turbo dev`.

Prepares the database once (migrations, demo data on an empty database), then starts every app
as its own process, prefixes each output line with the app's name, and stops them all on Ctrl-C
or as soon as one of them exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from repo_db import get_engine
from repo_db.migrate import upgrade
from repo_db.seed import seed_demo

STOP_TIMEOUT_S = 10
COLORS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m")
RESET = "\033[0m"


@dataclass(frozen=True)
class App:
    name: str
    module: str
    port_env: str
    default_port: int
    path: str

    @property
    def url(self) -> str:
        port = os.environ.get(self.port_env, str(self.default_port))
        return f"http://127.0.0.1:{port}{self.path}"


APPS = (
    App("api", "repo_api", "API_PORT", 8000, "/docs"),
    App("web", "repo_web", "WEB_PORT", 8001, "/"),
)


def prepare_database() -> None:
    """Done here, once, so that the apps never race each other on DDL."""
    engine = get_engine()
    upgrade(engine)
    seed_demo(engine)  # idempotent: adds the demo accounts and assessments only where missing


def _child_env() -> dict[str, str]:
    # Children run the same interpreter and code as this launcher (a PEX under `./pants run`).
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
        "PYTHONUNBUFFERED": "1",
        "SQLITE_PATH": os.path.abspath(os.environ.get("SQLITE_PATH", "dev.sqlite3")),
    }


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM to a child whose launcher is killed, so none is orphaned."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _pump(proc: subprocess.Popen[str], prefix: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(f"{prefix} | {line}")
        sys.stdout.flush()


def _stop(procs: dict[str, subprocess.Popen[str]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run(apps: Sequence[App]) -> int:
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    width = max(len(app.name) for app in apps)
    env = _child_env()
    procs: dict[str, subprocess.Popen[str]] = {}
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    first_exit: str | None = None
    try:
        # All children first, then the reader threads: preexec_fn is only safe without threads.
        for app in apps:
            procs[app.name] = subprocess.Popen(
                [sys.executable, "-m", app.module],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
                preexec_fn=_die_with_parent,
            )
        for i, app in enumerate(apps):
            prefix = app.name.ljust(width)
            if color:
                prefix = f"{COLORS[i % len(COLORS)]}{prefix}{RESET}"
            threading.Thread(target=_pump, args=(procs[app.name], prefix), daemon=True).start()
            print(f"{prefix} | starting: {app.url}", flush=True)
        while not stop_requested.is_set() and first_exit is None:
            first_exit = next((n for n, p in procs.items() if p.poll() is not None), None)
            stop_requested.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("dev | stopping all apps", flush=True)
        _stop(procs)
    if first_exit is None:
        return 0
    code = procs[first_exit].returncode
    print(f"dev | {first_exit} exited on its own with code {code}", flush=True)
    return code or 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./pants run :dev",
        description="Run the whole platform locally on the SQLite default: "
        + ", ".join(f"{a.name} ({a.url})" for a in APPS)
        + ". Ctrl-C stops everything.",
    )
    parser.add_argument(
        "--only",
        help="comma-separated subset of apps to start (default: all)",
        default=",".join(a.name for a in APPS),
    )
    args = parser.parse_args(argv)
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = wanted - {a.name for a in APPS}
    if unknown:
        parser.error(f"unknown app(s): {', '.join(sorted(unknown))}")
    # The launcher's own output: repo_db's warnings (slow queries, connect retries) show here.
    logging.basicConfig(level=logging.WARNING, format="dev: %(levelname)s %(name)s: %(message)s")
    prepare_database()
    return run([a for a in APPS if a.name in wanted])


if __name__ == "__main__":
    sys.exit(main())
