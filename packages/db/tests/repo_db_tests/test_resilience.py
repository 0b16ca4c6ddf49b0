"""Query logging and connect retries (against the real PostgreSQL server through a TCP proxy)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from repo_db import DatabaseUnavailableError
from repo_db._engine import build_engine
from repo_db._query_log import REDACTED, install_query_logging, uninstall_query_logging
from repo_db.config import DbSettings
from repo_db.testing import admin_postgres_url, unavailable


class Logs:
    """repo_db's records at every level (the stdlib ``logging`` module, no structlog)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog

    @property
    def records(self) -> list[logging.LogRecord]:
        # Read on each access: pytest replaces the list between the setup and call phases.
        return [r for r in self.caplog.records if r.name.startswith("repo_db")]

    def events(self) -> list[str]:
        return [r.getMessage().split()[0] for r in self.records]

    def text(self) -> str:
        return " ".join(r.getMessage() for r in self.records)


@pytest.fixture()
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Logs]:
    with caplog.at_level(logging.DEBUG, logger="repo_db"):
        yield Logs(caplog)


def test_query_logging_redacts_parameters(logs: Logs) -> None:
    engine = create_engine("sqlite://")
    install_query_logging(engine, slow_ms=10_000, log_all=True)
    install_query_logging(engine, slow_ms=10_000, log_all=True)  # idempotent: no double logs
    with engine.connect() as conn:
        conn.execute(text("SELECT :secret"), {"secret": "hunter2"})
    queries = [r for r in logs.records if r.getMessage().startswith("db.query")]
    assert len(queries) == 1
    assert queries[0].name == "repo_db.query" and queries[0].levelno == logging.DEBUG
    fields = queries[0].repo_db  # type: ignore[attr-defined]
    assert fields["params"] == REDACTED and fields["duration_ms"] >= 0
    assert "hunter2" not in logs.text()


def test_slow_queries_are_warnings(logs: Logs) -> None:
    engine = create_engine("sqlite://")
    install_query_logging(engine, slow_ms=1e-9, log_all=False, log_params=True)
    with engine.connect() as conn:
        conn.execute(text("SELECT :n"), {"n": 1})
    assert logs.events() == ["db.slow_query"]
    slow = logs.records[0]
    assert slow.levelno == logging.WARNING and "SELECT ?" in slow.getMessage()
    assert slow.repo_db["params"] in ((1,), {"n": 1})  # type: ignore[attr-defined]
    uninstall_query_logging(engine)
    logs.caplog.clear()
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert logs.events() == []


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


def test_connect_is_retried_until_the_server_accepts(logs: Logs) -> None:
    admin = admin_postgres_url()
    _reachable(admin)

    def retried() -> bool:  # the proxy opens only once a retry was logged: no timing races
        return "db.connect_retry" in logs.events()

    proxy = DelayedProxy((admin.host or "127.0.0.1", admin.port or 5432), ready=retried)
    engine = build_engine(
        admin.set(host="127.0.0.1", port=proxy.port),
        settings=DbSettings(db_connect_retries=8, db_connect_timeout=2),
    )
    try:
        proxy.thread.start()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
        proxy.stop.set()
    retries = [r for r in logs.records if r.getMessage().startswith("db.connect_retry")]
    assert len(retries) >= 1
    assert retries[0].levelno == logging.WARNING


def test_gives_up_with_a_clear_error_and_no_password(logs: Logs) -> None:
    url = URL.create(
        "postgresql+psycopg",
        username="app",
        password="hunter2",
        host="127.0.0.1",
        port=_free_port(),
        database="x",
    )
    engine = build_engine(url, settings=DbSettings(db_connect_retries=2))
    with pytest.raises(DatabaseUnavailableError) as err:
        engine.connect()
    assert "after 2 retries" in str(err.value)
    assert "hunter2" not in str(err.value) and "hunter2" not in logs.text()
    assert logs.events().count("db.connect_retry") == 2
