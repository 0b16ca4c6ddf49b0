"""`./pants run :dev`: the whole platform on one machine, like `turbo dev`.

Prepares the database once (migrations, the demo data that is missing), then starts every app
that exists as its own process, prefixes each output line with the app's name, prints the URLs
and the demo accounts once the apps answer, and stops them all on Ctrl-C.

Restart on edit: each app runs under watchfiles, which restarts it when a file changes in its
own `src/` or in `packages/*/src` (Python, templates, CSS) of the working tree. The apps import
their code from the working tree, not from the copy `./pants run` builds, so an edit is live
after one app restart (about 2-3 s) instead of a Pants rebuild of the whole launcher (Pants'
`restartable=True`: about 25 s here, see README.md). New third-party requirements or BUILD
changes still need a new `./pants run :dev`.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from repo_db import get_engine
from repo_db.migrate import upgrade
from repo_db.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo

STOP_TIMEOUT_S = 10
READY_TIMEOUT_S = 120
COLORS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m")
RESET = "\033[0m"
# Found relative to the working directory: `./pants run` runs in the repository root.
ROOT_ENV = "DEV_ROOT"


@dataclass(frozen=True)
class App:
    name: str
    module: str  # started as `python -m <module> <*args>`
    args: tuple[str, ...] = ()
    source: str = ""  # its source root in the working tree, watched for edits
    port_env: str | None = None  # None: no HTTP (a worker)
    default_port: int = 0
    path: str = "/"

    @property
    def port(self) -> int:
        assert self.port_env is not None
        return int(os.environ.get(self.port_env, str(self.default_port)))

    def url(self, path: str | None = None) -> str:
        return f"http://127.0.0.1:{self.port}{self.path if path is None else path}"

    def available(self) -> bool:
        return importlib.util.find_spec(f"{self.module}.__main__") is not None


APPS = (
    App(
        "api",
        "repo_api",
        source="apps/api/src",
        port_env="API_PORT",
        default_port=8000,
        path="/docs",
    ),
    App("web", "repo_web", source="apps/web/src", port_env="WEB_PORT", default_port=8001),
    App("ai", "repo_ai", ("worker",), source="apps/ai/src"),
)


def prepare_database() -> None:
    """Done here, once, so that the apps never race each other on DDL."""
    engine = get_engine()
    upgrade(engine)
    seed_demo(engine)  # idempotent: adds the demo accounts and assessments only where missing


def working_tree() -> Path | None:
    """The checkout whose sources the apps run from, or None (e.g. a packaged launcher)."""
    root = Path(os.environ.get(ROOT_ENV) or os.getcwd()).resolve()
    return root if (root / "packages").is_dir() and (root / "apps").is_dir() else None


def _source_roots(root: Path) -> list[str]:
    return [
        str(p) for pattern in ("packages/*/src", "apps/*/src") for p in sorted(root.glob(pattern))
    ]


def _child_env(root: Path | None) -> dict[str, str]:
    # Children run the launcher's interpreter (a PEX venv under `./pants run`, with every
    # third-party requirement); the working tree's source roots come first so edits win.
    live = _source_roots(root) if root else []
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(live + [os.path.abspath(p) for p in sys.path if p]),
        "PYTHONUNBUFFERED": "1",
        "SQLITE_PATH": os.path.abspath(os.environ.get("SQLITE_PATH", "dev.sqlite3")),
    }
    if root and (root / "apps/web/js/src").is_dir():
        env["REPO_WEB_JS_DIR"] = str(root / "apps/web/js/src")  # served as-is, see repo_web
    return env


def command(app: App, root: Path | None) -> list[str]:
    plain = [sys.executable, "-m", app.module, *app.args]
    watched = [str(root / app.source)] if root and (root / app.source).is_dir() else []
    if not watched:
        return plain
    assert root is not None
    watched += [str(p) for p in sorted(root.glob("packages/*/src"))]
    return [
        sys.executable,
        "-m",
        "watchfiles",
        "--target-type=command",
        "--sigint-timeout=5",
        shlex.join(plain),
        *watched,
    ]


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


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return bool(response.status == 200)
    except OSError:
        return False


def banner(apps: Sequence[App], *, seconds: float, reload: bool) -> str:
    lines = [f"dev | ready in {seconds:.1f} s"]
    width = max(len(a.name) for a in apps)
    for app in apps:
        where = app.url() if app.port_env else "worker running (no HTTP)"
        lines.append(f"dev |   {app.name.ljust(width)}  {where}")
    lines.append(f"dev | demo accounts, password {DEMO_PASSWORD}:")
    lines += [f"dev |   {role:8} {email}" for email, _name, role in DEMO_USERS]
    if reload:
        lines.append(
            "dev | an edit under apps/<app>/src or packages/*/src restarts the apps using it"
        )
    lines.append("dev | Ctrl-C stops everything")
    return "\n".join(lines)


def run(apps: Sequence[App], *, root: Path | None, started: float) -> int:
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    width = max(len(app.name) for app in apps)
    env = _child_env(root)
    procs: dict[str, subprocess.Popen[str]] = {}
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    first_exit: str | None = None
    ready = False
    try:
        # All children first, then the reader threads: preexec_fn is only safe without threads.
        for app in apps:
            procs[app.name] = subprocess.Popen(
                command(app, root),
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
        while not stop_requested.is_set() and first_exit is None:
            first_exit = next((n for n, p in procs.items() if p.poll() is not None), None)
            if not ready and all(_answers(a.url("/healthz")) for a in apps if a.port_env):
                ready = True
                print(banner(apps, seconds=time.monotonic() - started, reload=root is not None))
                sys.stdout.flush()
            elif not ready and time.monotonic() - started > READY_TIMEOUT_S:
                print(f"dev | the apps did not answer within {READY_TIMEOUT_S} s", flush=True)
                return 1
            stop_requested.wait(0.3)
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
    started = time.monotonic()
    parser = argparse.ArgumentParser(
        prog="./pants run :dev",
        description="Run the whole platform locally on the SQLite default ("
        + ", ".join(a.name for a in APPS)
        + "), restarting an app when its sources change. Ctrl-C stops everything.",
    )
    parser.add_argument(
        "--only",
        help="comma-separated subset of apps to start (default: all that exist)",
        default=",".join(a.name for a in APPS),
    )
    parser.add_argument(
        "--reload",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the apps from the working tree and restart one when its files change",
    )
    args = parser.parse_args(argv)
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = wanted - {a.name for a in APPS}
    if unknown:
        parser.error(f"unknown app(s): {', '.join(sorted(unknown))}")
    apps = []
    for app in APPS:
        if app.name not in wanted:
            continue
        if not app.available():
            print(
                f"dev | skipping {app.name}: {app.module}.__main__ does not exist yet", flush=True
            )
            continue
        apps.append(app)
    root = working_tree() if args.reload else None
    if args.reload and root is None:
        print("dev | no working tree here: the apps run without restart on edit", flush=True)
    # The launcher's own output: repo_db's warnings (slow queries, connect retries) show here.
    logging.basicConfig(level=logging.WARNING, format="dev: %(levelname)s %(name)s: %(message)s")
    prepare_database()
    return run(apps, root=root, started=started)


if __name__ == "__main__":
    sys.exit(main())
