"""configure_logging: JSON lines in production, console lines otherwise, the level respected."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog

from repo_observability import configure_logging


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
