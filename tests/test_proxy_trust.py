"""Proxy trust against the real api and web processes: X-Forwarded-For is believed only from
FORWARDED_ALLOW_IPS. With the default (nobody), a client on the same host that rotates the header
still counts as one address for the log-in throttle; with FORWARDED_ALLOW_IPS=127.0.0.1 (a
reverse proxy on this host) each forwarded address counts on its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from repo_db import build_engine, create_tables
from tools import servers

LIMIT = 3  # log-ins per address per minute in these runs
STARTUP_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(module: str, ready: str, tmp_path: Path, env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    child_env = {
        "PATH": os.environ.get("PATH", ""),
        # The child imports exactly what this test process imports (Pants sandbox or checkout).
        "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
        "SQLITE_PATH": str(tmp_path / "proxy.sqlite3"),
        **env,
    }
    log_path = tmp_path / f"{module}.log"
    with log_path.open("w") as log:
        process = servers.spawn(
            module,
            (
                [
                    sys.executable,
                    "-m",
                    module,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-seed",
                ]
                if module == "repo_api"
                else [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)]
            ),
            env=child_env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    pytest.fail(f"{module} exited early:\n{log_path.read_text()}")
                try:
                    if httpx.get(base + ready, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"{module} not ready:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield base
        finally:
            servers.stop_process(process)


def _api_logins(base: str) -> list[int]:
    return [
        httpx.post(
            f"{base}/auth/login",
            json={"email": f"nobody{n}@example.org", "password": "wrong-password"},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
            timeout=30,
        ).status_code
        for n in range(LIMIT + 2)
    ]


def _web_logins(base: str) -> list[int]:
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/login")
        token = client.cookies["csrftoken"]
        return [
            client.post(
                "/login",
                data={
                    "email": f"nobody{n}@example.org",
                    "password": "wrong-password",
                    "csrf_token": token,
                },
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(LIMIT + 2)
        ]


APPS: dict[str, tuple[str, str, str, Callable[[str], list[int]]]] = {
    "api": ("repo_api", "/readyz", "API_LOGIN_RATE_PER_ADDRESS", _api_logins),
    "web": ("repo_web", "/healthz", "WEB_LOGIN_RATE_PER_ADDRESS", _web_logins),
}


@pytest.mark.parametrize("app", list(APPS))
@pytest.mark.parametrize("trusted", [False, True], ids=["default", "proxy-on-127.0.0.1"])
def test_forwarded_for_counts_only_from_a_trusted_proxy(
    tmp_path: Path, app: str, trusted: bool
) -> None:
    module, ready, rate_variable, logins = APPS[app]
    if app == "web":  # the web does not migrate; the api does in development
        engine = build_engine(f"sqlite:///{tmp_path / 'proxy.sqlite3'}")
        create_tables(engine)
        engine.dispose()
    env = {rate_variable: f"{LIMIT}/minute"}
    if trusted:
        env["FORWARDED_ALLOW_IPS"] = "127.0.0.1"
    with _serve(module, ready, tmp_path, env) as base:
        statuses = logins(base)
    refused = [status == 429 for status in statuses]
    if trusted:  # every request came from "another" client address
        assert not any(refused), statuses
    else:  # one address (the TCP peer) whatever the header says: the limit holds
        assert refused == [False] * LIMIT + [True] * 2, statuses
