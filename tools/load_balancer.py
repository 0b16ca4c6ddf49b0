"""Several API instances behind HAProxy, for tests and benchmarks (issue 19).

:class:`HAProxy` writes its configuration into a private directory, checks it (``haproxy -c``),
runs ``haproxy -db`` in its own process group, registered with ``tools.servers`` (stopped on
success, failure, interruption, or by the watchdog when the owner dies), and reads its counters
through the admin socket. :func:`start_api` starts one API instance the same way.

The balancer's behaviour, which ``docs/operations.md`` explains line by line:

* health check ``GET /readyz`` every second (every half second while a server is failing), two
  failures mark a server DOWN, two successes bring it back;
* ``retries 3`` with ``option redispatch 1``: a refused connection is retried on another server;
  a GET whose server closed the connection without answering (an instance killed mid-request)
  is retried too (``retry-on conn-failure empty-response``), other methods are not
  (``disable-l7-retry``): a write that reached a dying server may have committed;
* ``X-Forwarded-For`` set to the client's address (a client's own header is replaced: the
  balancer is the edge), so each instance, trusting the balancer through
  ``FORWARDED_ALLOW_IPS``, throttles by the real client; ``X-Served-By`` names the instance.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from tools import servers

HEALTH_PATH = "/readyz"
START_TIMEOUT_S = 180.0
HAPROXY_CONFIG = """\
global
    maxconn 2000
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 5s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend api
    bind 127.0.0.1:{port}
    http-request set-header X-Forwarded-For %[src]
    default_backend api

backend api
    balance roundrobin
    option httpchk GET {health}
    http-check expect status 200
    http-request disable-l7-retry unless METH_GET
    http-response set-header X-Served-By %s
    default-server check inter 1s fastinter 500ms downinter 1s fall 2 rise 2
{servers}
"""


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").is_file() else None
    )
    if found is None:
        raise RuntimeError(
            "haproxy is not installed: apt-get install -y haproxy (tools/ci/ensure-services.sh "
            "installs it)"
        )
    return found


def haproxy_config(*, port: int, backends: Mapping[str, int], socket_path: Path) -> str:
    """The configuration for a balancer on ``port`` in front of ``backends`` (name: port)."""
    lines = "\n".join(f"    server {name} 127.0.0.1:{p}" for name, p in backends.items())
    return HAPROXY_CONFIG.format(socket=socket_path, port=port, health=HEALTH_PATH, servers=lines)


class HAProxy:
    """HAProxy on a free loopback port in front of ``backends`` (name: port on 127.0.0.1)."""

    def __init__(self, backends: Mapping[str, int]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="repo-haproxy-", dir="/tmp"))
        self.port = servers.free_port()
        self.backends = dict(backends)
        self.socket_path = self.dir / "admin.sock"
        self.config_path = self.dir / "haproxy.cfg"
        self.log_path = self.dir / "haproxy.log"
        self.process: subprocess.Popen[Any] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HAProxy:
        self.config_path.write_text(
            haproxy_config(port=self.port, backends=self.backends, socket_path=self.socket_path)
        )
        binary = haproxy_binary()
        check = subprocess.run(
            [binary, "-c", "-q", "-f", str(self.config_path)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its configuration: {check.stderr[-2000:]}")
        self.process = servers.spawn(
            f"haproxy {self.port}", [binary, "-db", "-f", str(self.config_path)], log=self.log_path
        )
        deadline = time.monotonic() + 30
        while not (servers.port_accepts(self.port) and self.socket_path.exists()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start:\n{self.log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        return self

    def command(self, line: str) -> str:
        """One admin-socket command (``show stat``, ``show servers state``...), its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_stats(self) -> dict[str, dict[str, str]]:
        """``show stat`` rows of the API servers, by name: status, stot (requests), wretr
        (retries), wredis (redispatches), hrsp_5xx, eresp..."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            r["svname"]: r for r in rows if r["pxname"] == "api" and r["svname"] in self.backends
        }

    def backend_stats(self) -> dict[str, str]:
        text = self.command("show stat").lstrip("# ")
        return next(
            r
            for r in csv.DictReader(io.StringIO(text))
            if r["pxname"] == "api" and r["svname"] == "BACKEND"
        )

    def status(self, name: str) -> str:
        return self.server_stats()[name]["status"]

    def wait_status(self, name: str, prefix: str, timeout_s: float = 60.0) -> float:
        """Seconds until ``name``'s status starts with ``prefix`` (``UP``, ``DOWN``)."""
        start = time.monotonic()
        while not self.status(name).startswith(prefix):
            if time.monotonic() - start > timeout_s:
                raise RuntimeError(
                    f"{name} not {prefix} after {timeout_s:.0f}s: {self.status(name)}"
                )
            time.sleep(0.05)
        return time.monotonic() - start

    def close(self) -> None:
        if self.process is not None:
            servers.stop_process(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> HAProxy:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus a PYTHONPATH that imports what this process imports (sandbox or checkout)."""
    return {
        **env,
        "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
    }


def start_api(
    name: str,
    env: Mapping[str, str],
    log: Path,
    *,
    workers: int = 1,
    argv: Sequence[str] = ("--no-seed", "--no-migrate"),
) -> tuple[int, subprocess.Popen[Any]]:
    """``python -m repo_api`` on a free port in its own process group, registered; returns the
    port and the process once ``/readyz`` answers 200."""
    port = servers.free_port()
    proc = servers.spawn(
        f"api {name}",
        [
            sys.executable,
            "-m",
            "repo_api",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *argv,
        ],
        log=log,
        env=child_env(env),
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=2).status_code == 200:
                return port, proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            servers.stop_process(proc)
            raise RuntimeError(f"api {name} did not become ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
