"""Query logging and connect retries (against the real PostgreSQL server through a TCP proxy)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from structlog.testing import capture_logs

from repo_db import DatabaseUnavailableError, DbSettings
from repo_db._engine import build_engine
from repo_db.query_log import REDACTED, install_query_logging, uninstall_query_logging
from repo_db.testing import admin_postgres_url, unavailable


@pytest.fixture(autouse=True)
def _default_structlog() -> Iterator[None]:
    # The CLI configures structlog (level filter); make these tests independent of order.
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def test_query_logging_redacts_parameters() -> None:
    engine = create_engine("sqlite://")
    install_query_logging(engine, slow_ms=10_000, log_all=True)
    install_query_logging(engine, slow_ms=10_000, log_all=True)  # idempotent: no double logs
    with capture_logs() as logs, engine.connect() as conn:
        conn.execute(text("SELECT :secret"), {"secret": "hunter2"})
    queries = [log for log in logs if log["event"] == "db.query"]
    assert len(queries) == 1
    assert queries[0]["params"] == REDACTED
    assert "hunter2" not in str(logs)
    assert queries[0]["duration_ms"] >= 0


def test_slow_queries_only_in_production_mode() -> None:
    engine = create_engine("sqlite://")
    install_query_logging(engine, slow_ms=1e-9, log_all=False, log_params=True)
    with capture_logs() as logs, engine.connect() as conn:
        conn.execute(text("SELECT :n"), {"n": 1})
    assert [log["event"] for log in logs] == ["db.slow_query"]
    assert logs[0]["log_level"] == "warning"
    assert logs[0]["params"] in ((1,), {"n": 1})  # log_params=True: the real values
    uninstall_query_logging(engine)
    with capture_logs() as logs, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert logs == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class DelayedProxy:
    """Refuses connections (nothing listening) until ``ready()`` is true and at least
    ``min_delay`` seconds passed, then forwards them to ``target``."""

    def __init__(
        self, target: tuple[str, int], ready: Callable[[], bool], min_delay: float = 1.0
    ) -> None:
        self.target, self.ready, self.min_delay = target, ready, min_delay
        self.port = _free_port()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        time.sleep(self.min_delay)
        while not self.ready() and not self.stop.is_set():
            time.sleep(0.02)
        with socket.socket() as server:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", self.port))
            server.listen()
            server.settimeout(0.2)
            while not self.stop.is_set():
                try:
                    client, _ = server.accept()
                except TimeoutError:
                    continue
                upstream = socket.create_connection(self.target)
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _reachable(url: URL) -> None:
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=2):
            pass
    except OSError as exc:
        unavailable(f"{url.host}:{url.port} unreachable ({exc})")


def test_connect_is_retried_until_the_server_accepts() -> None:
    admin = admin_postgres_url()
    _reachable(admin)
    logs: list[MutableMapping[str, Any]] = []

    def retried() -> bool:  # the proxy opens only once a retry was logged: no timing races
        return any(log["event"] == "db.connect_retry" for log in list(logs))

    proxy = DelayedProxy((admin.host or "127.0.0.1", admin.port or 5432), ready=retried)
    engine = build_engine(
        admin.set(host="127.0.0.1", port=proxy.port),
        settings=DbSettings(db_connect_retries=8, db_connect_timeout=2),
    )
    try:
        with capture_logs() as captured:
            logs = captured
            proxy.thread.start()
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
        proxy.stop.set()
    retries = [log for log in logs if log["event"] == "db.connect_retry"]
    assert len(retries) >= 1
    assert retries[0]["log_level"] == "warning"


def test_gives_up_with_a_clear_error_and_no_password() -> None:
    url = URL.create(
        "postgresql+psycopg",
        username="app",
        password="hunter2",
        host="127.0.0.1",
        port=_free_port(),
        database="x",
    )
    engine = build_engine(url, settings=DbSettings(db_connect_retries=2))
    with capture_logs() as logs, pytest.raises(DatabaseUnavailableError) as err:
        engine.connect()
    assert "after 2 retries" in str(err.value)
    assert "hunter2" not in str(err.value) and "hunter2" not in str(logs)
    assert len([log for log in logs if log["event"] == "db.connect_retry"]) == 2
