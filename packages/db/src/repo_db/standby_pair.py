"""A private PostgreSQL primary and a real hot standby streaming from it, for tests and benchmarks.

``StandbyPair().start()`` runs ``initdb`` into a temp dir (``wal_level = replica``, a
``replicator`` role with REPLICATION, loopback ``hba``), starts the primary on a free port, makes
the standby with ``pg_basebackup -R`` (``standby.signal`` + ``primary_conninfo``) and starts it
as a hot standby on another free port. ``apply_delay`` (``recovery_min_apply_delay``, e.g.
``"2s"``) makes the standby lag deterministically: it receives the WAL at once but replays each
commit that much later. ``synchronous=True`` makes the primary wait, at every commit, until the
standby has flushed the commit's WAL (``synchronous_standby_names = '*'``, ``synchronous_commit =
on``): an acknowledged commit then survives the primary's loss. ``kill_primary()`` /
``stop_primary()`` and ``promote()`` drive a failover drill, ``multi_host_url()`` is the libpq
URL an application uses to follow it (benchmarks/failover.py, docs/operations.md "Failover").

Every server it starts is stopped whatever happens to the process that started it:

* ``stop()`` (also on ``with`` exit and in the pytest fixture's teardown) stops both servers
  and deletes the directory;
* a watchdog started with the servers (its own session, so a Ctrl-C or a kill of the test's
  process group does not take it down first) polls the starting process and, once it has gone
  (even by SIGKILL, where no ``finally`` runs), stops both servers ``-m immediate`` and deletes
  the directory.

The server binaries come from ``/usr/lib/postgresql/<newest>/bin``. PostgreSQL refuses to run as
root, so as root the servers run as the ``postgres`` account (``runuser``) on a directory it owns.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import URL

#: How often the watchdog looks for the process that started the servers.
WATCHDOG_POLL_S = 0.5


def pg_bin(tool: str) -> str:
    """The newest installed PostgreSQL server binary ``tool`` (initdb, pg_ctl, ...)."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"))
    return str(found[-1]) if found else tool


def server_binaries_available() -> bool:
    return bool(list(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup")))


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StandbyPair:
    """A primary and a streaming hot standby, private to this process (see the module doc)."""

    def __init__(
        self, *, apply_delay: str = "0", synchronous: bool = False, extra_conf: str = ""
    ) -> None:
        self.apply_delay = apply_delay
        self.synchronous = synchronous
        self.extra_conf = extra_conf  # postgresql.conf lines for both servers
        self.dir = Path(tempfile.mkdtemp(prefix="repo-standby-", dir="/tmp"))
        self.primary_data = self.dir / "primary"
        self.standby_data = self.dir / "standby"
        self.primary_port = free_port()
        self.standby_port = free_port()
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._stalled: list[int] = []  # walsenders under SIGSTOP (stall_replication)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> StandbyPair:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> StandbyPair:
        try:
            self._start_watchdog()
            self._run(pg_bin("initdb"), "-D", str(self.primary_data), "-U", "postgres",
                      "-A", "trust")  # fmt: skip
            self._configure(
                self.primary_data,
                self.primary_port,
                "wal_level = replica\nmax_wal_senders = 5\nwal_keep_size = '64MB'\n"
                + self.extra_conf,  # the base backup copies it to the standby
            )
            self.pg_ctl(self.primary_data, "start")
            self._run(
                pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.primary_port), "-U",
                "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc",
                "CREATE ROLE replicator WITH REPLICATION LOGIN",
            )  # fmt: skip
            self._run(
                pg_bin("pg_basebackup"), "-D", str(self.standby_data), "-h", "127.0.0.1",
                "-p", str(self.primary_port), "-U", "replicator", "-R", "-X", "stream",
                "--checkpoint=fast",
            )  # fmt: skip
            self._configure(
                self.standby_data,
                self.standby_port,
                # After the primary is lost the startup process retries the WAL source every
                # wal_retrieve_retry_interval (5 s by default), and a promote waits for that.
                "hot_standby = on\nwal_retrieve_retry_interval = '1s'\n",
            )
            if self.synchronous:
                # Only now, after the base backup: a promoted standby that inherited the setting
                # would wait for a synchronous standby of its own and hang every commit.
                self.set_synchronous(True)
            self.set_apply_delay(self.apply_delay, reload=False)
            self.pg_ctl(self.standby_data, "start")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both servers (fast, then immediate) and delete the directory; idempotent."""
        for sender in self._stalled:  # a stopped walsender would hold up the shutdown
            try:
                os.kill(sender, signal.SIGCONT)
            except ProcessLookupError:
                continue
        self._stalled.clear()
        for data in (self.standby_data, self.primary_data):
            if (data / "postmaster.pid").exists():
                try:
                    self.pg_ctl(data, "stop", "-m", "fast", "-t", "20")
                except (RuntimeError, subprocess.TimeoutExpired):
                    self.pg_ctl(data, "stop", "-m", "immediate", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None

    def stop_standby(self) -> None:
        """An outage of the replica: its server stops, the primary goes on."""
        self.pg_ctl(self.standby_data, "stop", "-m", "fast")

    def start_standby(self) -> None:
        self.pg_ctl(self.standby_data, "start")

    def stop_primary(self, mode: str = "fast") -> None:
        """The primary's loss: ``pg_ctl stop -m fast`` (or ``immediate``)."""
        self.pg_ctl(self.primary_data, "stop", "-m", mode)

    def kill_primary(self) -> None:
        """The primary's machine lost: SIGKILL to its postmaster and every server process."""
        pid_file = self.primary_data / "postmaster.pid"
        pid = int(pid_file.read_text().splitlines()[0])
        victims = [pid, *_children(pid)]
        for victim in victims:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + 10
        while any(_alive(v) for v in victims) and time.monotonic() < deadline:
            time.sleep(0.02)
        # A stale pid file would make stop() signal whatever process reuses that pid.
        pid_file.unlink(missing_ok=True)
        self._stalled.clear()

    def set_synchronous(self, on: bool) -> None:
        """Synchronous replication on the primary (``synchronous_standby_names``), live."""
        self.synchronous = on
        names = "*" if on else ""
        self._run(
            pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
            "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q",
            "-c", f"ALTER SYSTEM SET synchronous_standby_names = '{names}'",
            "-c", "SELECT pg_reload_conf()",
        )  # fmt: skip

    def stall_replication(self) -> None:
        """SIGSTOP the primary's walsender: the standby receives nothing more (a stalled link).
        Asynchronous commits are still acknowledged; synchronous ones wait. ``kill_primary()``
        ends it (SIGKILL also ends a stopped process)."""
        pid = int((self.primary_data / "postmaster.pid").read_text().splitlines()[0])
        senders = [child for child in _children(pid) if b"walsender" in _cmdline(child)]
        if not senders:
            raise RuntimeError("the primary has no walsender: is the standby streaming?")
        for sender in senders:
            os.kill(sender, signal.SIGSTOP)
            self._stalled.append(sender)

    def promote(self) -> None:
        """``pg_ctl promote``: the standby leaves recovery and accepts writes."""
        self.pg_ctl(self.standby_data, "promote")

    def set_apply_delay(self, delay: str, *, reload: bool = True) -> None:
        """``recovery_min_apply_delay`` of the standby (e.g. ``"2s"``, ``"0"``), reloaded live."""
        self.apply_delay = delay
        conf = self.standby_data / "repo_delay.conf"
        conf.write_text(f"recovery_min_apply_delay = '{delay}'\n")
        if os.geteuid() == 0:
            shutil.chown(conf, "postgres", "postgres")
        if reload:
            self.pg_ctl(self.standby_data, "reload")

    # ------------------------------------------------------------------ addresses

    def url(self, *, standby: bool = False, database: str = "postgres") -> URL:
        port = self.standby_port if standby else self.primary_port
        return URL.create(
            "postgresql+psycopg", username="postgres", host="127.0.0.1", port=port,
            database=database,
        )  # fmt: skip

    def multi_host_url(self, *, database: str = "postgres") -> str:
        """libpq's multi-host URL over both servers, writable one first: after a failover it
        connects to the promoted standby (``target_session_attrs=read-write``)."""
        return (
            f"postgresql://postgres@127.0.0.1:{self.primary_port},127.0.0.1:{self.standby_port}"
            f"/{database}?target_session_attrs=read-write"
        )

    @property
    def primary_url(self) -> URL:
        return self.url()

    @property
    def standby_url(self) -> URL:
        return self.url(standby=True)

    def postmaster_pids(self) -> list[int]:
        """The running servers' postmaster pids (empty once both have stopped)."""
        pids = []
        for data in (self.primary_data, self.standby_data):
            try:
                pids.append(int((data / "postmaster.pid").read_text().splitlines()[0]))
            except (OSError, ValueError, IndexError):
                continue
        return pids

    # ------------------------------------------------------------------ internals

    def pg_ctl(self, data: Path, action: str, *extra: str, check: bool = True) -> None:
        log = str(self.dir / f"{data.name}.log")
        self._run(pg_bin("pg_ctl"), action, "-D", str(data), "-l", log, "-w", *extra,
                  check=check)  # fmt: skip

    def _run(self, *argv: str, check: bool = True) -> None:
        proc = subprocess.run(
            _as_postgres(list(argv)),  # noqa: S603 - our own argv, no shell
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if check and proc.returncode != 0:
            tail = (proc.stderr or proc.stdout)[-2000:]
            raise RuntimeError(f"{Path(argv[0]).name} {argv[1]} failed ({proc.returncode}): {tail}")

    def _configure(self, data: Path, port: int, extra: str) -> None:
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\n# repo_db.standby_pair\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\nmax_connections = 60\n"
                "fsync = off\nsynchronous_commit = on\nshared_buffers = '32MB'\n"
                f"include_if_exists = 'repo_delay.conf'\n{extra}"
            )

    def _start_watchdog(self) -> None:
        """A detached shell that stops both servers once this process is gone (module doc)."""
        stop = " ; ".join(
            shlex.join(_as_postgres([pg_bin("pg_ctl"), "stop", "-D", str(d), "-m", "immediate"]))
            + " >/dev/null 2>&1"
            for d in (self.standby_data, self.primary_data)
        )
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep {WATCHDOG_POLL_S}; done; "
            f"{stop}; rm -rf {shlex.quote(str(self.dir))}"
        )
        self._watchdog = subprocess.Popen(
            ["bash", "-c", script],  # noqa: S603, S607 - a fixed script of quoted paths
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_streaming(self, timeout_s: float = 30.0) -> None:
        """Until the primary's ``pg_stat_replication`` shows the standby streaming."""
        deadline = time.monotonic() + timeout_s
        query = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
        while True:
            psql = [pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.primary_port),
                    "-U", "postgres", "-d", "postgres", "-tAc", query]  # fmt: skip
            proc = subprocess.run(
                psql,  # noqa: S603 - our own argv, no shell
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            if proc.returncode == 0 and proc.stdout.strip() == "1":
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"standby not streaming after {timeout_s}s: {proc.stderr}")
            time.sleep(0.2)


def _cmdline(pid: int) -> bytes:
    """``pid``'s command line, empty once it has exited."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    """``pid``'s direct children (Linux /proc), e.g. a postmaster's server processes."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


__all__ = ["StandbyPair", "free_port", "pg_bin", "server_binaries_available"]
