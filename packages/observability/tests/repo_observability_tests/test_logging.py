"""configure_logging: JSON lines in production, console lines otherwise, the level respected."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from repo_observability import REDACTED, configure_logging
from repo_observability.redaction import is_secret_key


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def test_json_lines_carry_event_level_timestamp_and_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level="info", json_logs=True)
    structlog.contextvars.bind_contextvars(request_id="r-1")
    try:
        structlog.get_logger("t").info("job.done", job_id=7)
    finally:
        structlog.contextvars.clear_contextvars()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "job.done"
    assert line["job_id"] == 7
    assert line["level"] == "info"
    assert line["request_id"] == "r-1"
    assert line["timestamp"].endswith("Z")


def test_console_lines_and_the_level_filter(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="warning", json_logs=False)
    log = structlog.get_logger("t")
    log.info("hidden.event")
    log.warning("shown.event", attempt_id=3)
    err = capsys.readouterr().err
    assert "hidden.event" not in err
    assert "shown.event" in err and "attempt_id=3" in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.strip().splitlines()[-1])


def test_an_unknown_level_falls_back_to_info(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="chatty", json_logs=True)
    structlog.get_logger("t").info("still.logged")
    assert "still.logged" in capsys.readouterr().err


def _crash_with_secrets_in_locals() -> None:
    password = "Sup3r-secret-pa55"  # - the secret the log must not show
    session_cookie = "cookie-value-123"
    raise RuntimeError(f"failed for {len(password) + len(session_cookie)} characters")


@pytest.mark.parametrize("json_logs", [True, False])
def test_tracebacks_carry_no_local_variables(
    capsys: pytest.CaptureFixture[str], json_logs: bool
) -> None:
    configure_logging(level="info", json_logs=json_logs)
    try:
        _crash_with_secrets_in_locals()
    except RuntimeError:
        structlog.get_logger("t").exception("request.unhandled_error")
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    err = capsys.readouterr().err
    assert err.count("RuntimeError: failed for 33 characters") == 2  # both tracebacks are there
    assert "_crash_with_secrets_in_locals" in err
    assert "Sup3r-secret-pa55" not in err
    assert "cookie-value-123" not in err


def test_secret_keys_are_redacted_at_any_depth(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="info", json_logs=True)
    structlog.get_logger("t").info(
        "login",
        password="hunter2-hunter2",
        headers={"Authorization": "Bearer abc.def", "Set-Cookie": "session=s3cr3t"},
        form=[{"csrf_token": "tok-123", "email": "a@example.org"}],
        password_hash="$argon2id$v=19$xyz",
        apiKey="k-1",
        prompt_tokens=42,
        request_id="r-9",
    )
    logging.getLogger("sqlalchemy").warning("stdlib %s", "line", extra={"token": "t-0"})
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    event = lines[0]
    assert event["password"] == REDACTED == event["password_hash"] == event["apiKey"]
    assert event["headers"] == {"Authorization": REDACTED, "Set-Cookie": REDACTED}
    assert event["form"] == [{"csrf_token": REDACTED, "email": "a@example.org"}]
    assert event["prompt_tokens"] == 42 and event["request_id"] == "r-9"  # whole words only
    assert lines[1]["event"] == "stdlib line" and lines[1]["logger"] == "sqlalchemy"
    for secret in ("hunter2", "abc.def", "s3cr3t", "tok-123", "argon2id", "k-1"):
        assert secret not in str(lines)


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("new_password", True),
        ("csrfToken", True),
        ("set-cookie", True),
        ("session_id", True),
        ("private_key", True),
        ("client_secret", True),
        ("email", False),
        ("prompt_tokens", False),
        ("request_id", False),
        ("hashed_count", False),
    ],
)
def test_which_keys_are_secret(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_uvicorns_log_config_sends_its_lines_through_the_json_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What uvicorn does with `log_config` in each of its processes: dictConfig, then log."""
    import logging.config

    from repo_observability import uvicorn_log_config

    logging.config.dictConfig(uvicorn_log_config(level="info", json_logs=True))
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    logging.getLogger("uvicorn.access").info("GET / 200")  # repo_http's access line replaces it
    structlog.get_logger("app").info("app.event", password="hunter2")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert [line["event"] for line in lines] == ["Invalid HTTP request received.", "app.event"]
    assert lines[0]["logger"] == "uvicorn.error" and lines[0]["level"] == "warning"
    assert lines[1]["password"] == REDACTED
    root = logging.getLogger()
    assert [h.get_name() for h in root.handlers].count("repo_observability") == 1
    assert root.level == logging.INFO
