"""Servers that tests and benchmarks start, stopped whatever happens to the process that started
them.

Every server (a private PostgreSQL cluster, PgBouncer, BuildGrid, the API, an AI worker) is
registered here when it starts and unregistered when its owner stops it. What is still registered
is stopped by, in this order of preference:

1. the owner's ``with`` block / ``finally`` / fixture finalizer (success, failed assertion,
   exception in set-up, Ctrl-C: Python runs those);
2. ``atexit``, and a SIGTERM/SIGHUP handler that stops everything before the process dies of the
   signal (installed only where the process had no handler of its own);
3. a watchdog: a small stdlib-only process in its own session (so that killing the owner's process
   group spares it) that is sent every registration on a pipe and, when the pipe closes because
   the owner is gone in ANY way (SIGKILL, Pants' test timeout, ``os._exit``), stops every server
   still registered.

A server started by a command that daemonizes (``pg_ctl``, ``pgbouncer -d``) is found by its pid
file when it is stopped, so a restart in between is followed; any other server runs in its own
process group (``start_new_session``) and is stopped as a group. Either way: the stop signal,
then SIGKILL after a grace period, then the server's directory is removed.

This module imports only the standard library: the watchdog runs its source with ``python -I -c``.
"""

from __future__ import annotations

import atexit
import inspect
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

GRACE_S = 15.0


def pgbouncer_scripts() -> Path:
    """tools/pgbouncer, next to this file in a checkout; sandbox-relative under Pants (`files`)."""
    here = Path(__file__).resolve().parent / "pgbouncer"
    return here if (here / "start").is_file() else Path("tools/pgbouncer")


# ------------------------------------------------------------------------- stopping (both sides)


def _state(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) of a live process; None if gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else (fields[0], int(fields[2]))


def pid_alive(pid: int) -> bool:
    return _state(pid) is not None


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        state = _state(int(stat.parent.name))
        if state is not None and state[1] == pgid:
            out.append(int(stat.parent.name))
    return out


def pid_from_file(pidfile: str | Path) -> int | None:
    try:
        return int(Path(pidfile).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop_spec(spec: dict[str, Any]) -> None:
    """Stop one registered server: ``spec`` as built by :func:`register`."""
    pgid, sig, grace = spec.get("pgid"), int(spec["signal"]), float(spec["grace_s"])
    if pgid:

        def alive() -> bool:
            return bool(group_members(pgid))

        def send(s: int) -> None:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, s)

    else:
        pid = pid_from_file(spec["pidfile"]) if spec.get("pidfile") else None

        def alive() -> bool:
            return pid is not None and pid_alive(pid)

        def send(s: int) -> None:
            with suppress(ProcessLookupError, PermissionError, TypeError):
                os.kill(pid, s)  # type: ignore[arg-type]

    for s, wait_s in ((sig, grace), (signal.SIGKILL, 10.0)):
        if not alive():
            break
        send(s)
        deadline = time.monotonic() + wait_s
        while alive() and time.monotonic() < deadline:
            time.sleep(0.05)
    for path in spec.get("remove", []):
        shutil.rmtree(path, ignore_errors=True)


def _watchdog_main() -> int:
    """Read ``+ID JSON`` / ``-ID`` lines; at end of input stop what is still registered."""
    for s in (signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    live: dict[str, dict[str, Any]] = {}
    for raw in sys.stdin.buffer:
        line = raw.decode().strip()
        if line.startswith("+"):
            key, _, spec = line[1:].partition(" ")
            live[key] = json.loads(spec)
        elif line.startswith("-"):
            live.pop(line[1:], None)
    for key in sorted(live, key=int, reverse=True):
        try:
            stop_spec(live[key])
        except Exception as exc:  # - keep stopping the others
            print(f"servers watchdog: {live[key].get('name')}: {exc}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------- registry (owner side)

_lock = threading.RLock()
_live: dict[int, dict[str, Any]] = {}
_ids = itertools.count(1)
_watchdog: subprocess.Popen[bytes] | None = None


def _start_watchdog() -> subprocess.Popen[bytes]:
    source = inspect.getsource(sys.modules[__name__])
    return subprocess.Popen(
        [sys.executable, "-I", "-c", source, "--watchdog"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=None,
        start_new_session=True,
        close_fds=True,
    )


def _send(line: str) -> None:
    if _watchdog is None or _watchdog.stdin is None:
        return
    try:
        _watchdog.stdin.write(line.encode() + b"\n")
        _watchdog.stdin.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass


def _on_signal(signum: int, _frame: object) -> None:
    stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_hooks() -> None:
    global _watchdog
    if _watchdog is not None:
        return
    _watchdog = _start_watchdog()
    atexit.register(_at_exit)
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(s) == signal.SIG_DFL:
                signal.signal(s, _on_signal)


def _at_exit() -> None:
    stop_all()
    if _watchdog is not None and _watchdog.stdin is not None:
        _watchdog.stdin.close()  # nothing left: the watchdog exits
        with suppress(subprocess.TimeoutExpired):
            _watchdog.wait(timeout=10)


def watchdog_pid() -> int | None:
    return _watchdog.pid if _watchdog is not None else None


def register(
    name: str,
    *,
    pgid: int | None = None,
    pidfile: Path | None = None,
    stop_signal: int = signal.SIGTERM,
    grace_s: float = GRACE_S,
    remove: Sequence[Path] = (),
) -> int:
    """Remember a server until :func:`stop` (or :func:`unregister`); returns its key."""
    spec = {
        "name": name,
        "pgid": pgid,
        "pidfile": str(pidfile) if pidfile else None,
        "signal": int(stop_signal),
        "grace_s": grace_s,
        "remove": [str(p) for p in remove],
    }
    with _lock:
        _install_hooks()
        key = next(_ids)
        _live[key] = spec
        _send(f"+{key} {json.dumps(spec)}")
    return key


def unregister(key: int) -> dict[str, Any] | None:
    with _lock:
        spec = _live.pop(key, None)
        _send(f"-{key}")
    return spec


def stop(key: int) -> None:
    with _lock:
        spec = _live.get(key)
    if spec is not None:
        stop_spec(spec)
        unregister(key)


def stop_all() -> None:
    """Stop every registered server, the newest first (the apps before their database)."""
    with _lock:
        keys = sorted(_live, reverse=True)
    for key in keys:
        stop(key)


# ------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


_process_keys: dict[int, int] = {}


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log: Path | None = None,
    stop_signal: int = signal.SIGTERM,
    grace_s: float = GRACE_S,
    **popen: Any,
) -> subprocess.Popen[Any]:
    """Start a server in its own process group, registered. Output goes to ``log`` if given,
    else where ``popen`` (``subprocess.Popen``'s keywords: env, cwd, stdout, text...) says."""
    popen.setdefault("stdin", subprocess.DEVNULL)
    out = log.open("wb") if log is not None else None
    if out is not None:
        popen.update(stdout=out, stderr=subprocess.STDOUT)
    try:
        proc = subprocess.Popen(list(argv), start_new_session=True, **popen)
    finally:
        if out is not None:
            out.close()
    _process_keys[proc.pid] = register(
        name, pgid=proc.pid, stop_signal=stop_signal, grace_s=grace_s
    )
    return proc


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """Stop a process from :func:`spawn` and everything in its group; reap it."""
    key = _process_keys.pop(proc.pid, None)
    if key is not None:
        stop(key)
    else:
        stop_spec({"pgid": proc.pid, "signal": signal.SIGTERM, "grace_s": GRACE_S})
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def running(name: str, argv: Sequence[str], **kw: Any) -> Iterator[subprocess.Popen[Any]]:
    proc = spawn(name, argv, **kw)
    try:
        yield proc
    finally:
        stop_process(proc)


# ------------------------------------------------------------------------- PostgreSQL, PgBouncer


def as_postgres(argv: Sequence[str]) -> list[str]:
    """initdb, postgres and pgbouncer refuse to run as root: run them as the server account."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


def pg_bin(tool: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"))
    return str(found[-1]) if found else tool


def _run(argv: Sequence[str], cwd: Path | None = None, timeout: float = 180) -> None:
    proc = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")


class PostgresCluster:
    """A private PostgreSQL cluster (``initdb`` in a temp dir, its own free port), registered from
    ``start`` until ``stop``: stopped (immediate shutdown) and its directory removed."""

    def __init__(self, *, prefix: str = "repo-pg-", conf: str = "") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.conf = conf
        self._key: int | None = None
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    @property
    def pidfile(self) -> Path:
        return self.data / "postmaster.pid"

    def postmaster_pid(self) -> int | None:
        return pid_from_file(self.pidfile)

    def start(self) -> PostgresCluster:
        # Registered before initdb: an interruption from here on still removes the directory.
        self._key = register(
            f"postgres {self.port}",
            pidfile=self.pidfile,
            stop_signal=signal.SIGQUIT,  # immediate shutdown
            remove=[self.dir],
        )
        _run(as_postgres([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]))
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\nmax_connections = 100\n{self.conf}\n"
            )
        self.pg_ctl("start")
        return self

    def pg_ctl(self, action: str, *extra: str) -> None:
        log = str(self.dir / "server.log")
        _run(as_postgres([pg_bin("pg_ctl"), action, "-D", str(self.data), "-l", log, "-w", *extra]))

    def url(self, port: int | None = None, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port or self.port}/{database}"

    def stop(self) -> None:
        if self._key is not None:
            stop(self._key)
            self._key = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PgBouncer:
    """A private PgBouncer (transaction mode, ``tools/pgbouncer/start``) on a free port; registered
    until ``close``. ``stop``/``start`` in between restart it (a fault), same port and directory."""

    def __init__(self, pg_port: int, *, pool_size: int = 10) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="repo-pgbouncer-", dir="/tmp"))
        self.port = free_port()
        self.pg_port = pg_port
        self.pool_size = pool_size
        self._key = register(
            f"pgbouncer {self.port}", pidfile=self.dir / "pgbouncer.pid", remove=[self.dir]
        )

    def _script(self, name: str, *args: str) -> None:
        _run(["bash", str(pgbouncer_scripts() / name), *args], timeout=60)

    def start(self) -> PgBouncer:
        where = ["--port", str(self.port), "--dir", str(self.dir), "--pg-port", str(self.pg_port)]
        self._script("start", *where, "--pool-size", str(self.pool_size))
        return self

    def stop(self) -> None:
        self._script("stop", "--dir", str(self.dir))

    def close(self) -> None:
        stop(self._key)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__" and sys.argv[1:] == ["--watchdog"]:
    sys.exit(_watchdog_main())
