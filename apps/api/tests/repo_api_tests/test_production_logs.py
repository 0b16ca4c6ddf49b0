"""The API in production as a real process (`python -m repo_api`, two uvicorn workers, PostgreSQL,
Redis): every log line is a JSON line (uvicorn's own lines too, from the parent and the workers)
and an error leaves no password, token or cookie in the log.

The error is a real one, not a stand-in: a database trigger makes the log-in's token insert fail
(what schema drift looks like), so the request dies inside the account service, whose frames
hold the password and the new token, with SQLAlchemy's statement parameters in the message.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from repo_api_tests.helpers import serve_api
from repo_db import build_engine
from repo_db.testing import PostgresDatabase, admin_postgres_url

REDIS_URL = "redis://127.0.0.1:6379/0"
DEVICE_SECRET = "production-logs-device-cookie-secret-0123456789"
PASSWORD = "Prod-Log-Passw0rd-8841"
BEARER = "bearer-token-value-7731-" + "b" * 20
COOKIE = "cookie-value-6612"
FAIL_TOKEN_INSERTS = """
CREATE FUNCTION refuse_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'tokens are read-only today'; END $$;
CREATE TRIGGER refuse_tokens BEFORE INSERT ON auth_tokens
FOR EACH ROW EXECUTE FUNCTION refuse_tokens();
"""


@pytest.fixture()
def database() -> Iterator[URL]:
    db = PostgresDatabase(admin_postgres_url())
    db.create()
    try:
        yield db.url
    finally:
        db.drop()


def _raw_request(base: str, data: bytes) -> None:
    """Bytes that are not HTTP: uvicorn itself logs "Invalid HTTP request received."."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(data)
        sock.recv(1024)


def test_production_logs_are_json_lines_without_secrets(tmp_path: Path, database: URL) -> None:
    env = {
        "APP_ENV": "production",
        "DATABASE_URL": database.render_as_string(hide_password=False),
        "REDIS_URL": REDIS_URL,
        "API_RATE_LIMIT_KEY_PREFIX": f"prod-logs-{uuid.uuid4().hex[:12]}",
        "API_DEVICE_COOKIE_SECRET": DEVICE_SECRET,
        "API_LOG_LEVEL": "info",
    }
    args = ("--migrate", "--no-seed", "--workers", "2")
    email = f"prod-logs-{uuid.uuid4().hex[:8]}@example.org"
    with serve_api(tmp_path, sqlite_path=tmp_path / "unused", env=env, args=args) as base:
        registered = httpx.post(
            f"{base}/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": "Prod"},
            timeout=30,
        )
        assert registered.status_code == 201, registered.text
        engine = build_engine(database)
        try:
            with engine.begin() as conn:
                conn.execute(text(FAIL_TOKEN_INSERTS))
        finally:
            engine.dispose()
        failed = httpx.post(
            f"{base}/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"Authorization": f"Bearer {BEARER}", "Cookie": f"session={COOKIE}"},
            timeout=30,
        )
        assert failed.status_code == 500, failed.text
        assert PASSWORD not in failed.text
        _raw_request(base, b"NOT HTTP AT ALL\r\n\r\n")
    log = (tmp_path / "server.log").read_text()
    lines = [line for line in log.splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}\n{log}")
    events = [r.get("event", "") for r in records]
    assert "request.unhandled_error" in events, log
    assert any("tokens are read-only today" in r.get("exception", "") for r in records), log
    # uvicorn's own lines, from the parent (the workers' supervisor) and from the workers
    uvicorn = [r for r in records if r.get("logger", "").startswith("uvicorn")]
    assert any(r["event"].startswith("Started parent process") for r in uvicorn), log
    assert any(r["event"].startswith("Invalid HTTP request") for r in uvicorn), log
    for secret in (PASSWORD, BEARER, COOKIE, DEVICE_SECRET, "$argon2"):
        assert secret not in log, secret
