"""TEST-ONLY switch: hold the worker right after it claims jobs, so a fault test can kill it at a
known state (it holds leases on jobs it has not started) instead of at a moment guessed by sleeping.

``AI_TEST_ONLY_HOLD_AFTER_CLAIM=/some/path/hold`` arms nothing by itself. While the file at that
path exists, each claim of one or more jobs makes the worker

1. write ``<path>.held`` (JSON: worker name, pid, the claimed jobs with their tries), atomically,
   and log ``job.held_for_test``;
2. wait, doing nothing, until the file at ``<path>`` is removed (or the worker is stopped);

then it runs the jobs as usual (their leases may have been taken over meanwhile: the usual
``job.lease_lost`` path). benchmarks/faults.py's ``ai-kill`` creates the file, waits for
``<path>.held``, checks the jobs in the database and SIGKILLs the worker.

Inert unless set; refused at start-up in production and staging (``check``), and by the worker
itself, so a stray variable can never park a production worker.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

import repo_db
from repo_db import ConfigError, jobs

VARIABLE = "AI_TEST_ONLY_HOLD_AFTER_CLAIM"
log = structlog.get_logger("repo_ai.hold_switch")


def check() -> None:
    """Start-up check: the switch is for tests; production and staging refuse to start with it."""
    if os.environ.get(VARIABLE) and repo_db.settings.is_production:
        raise ConfigError(
            f"{VARIABLE} is a test-only switch and is refused in production and staging: unset it"
        )


@dataclass(frozen=True)
class HoldSwitch:
    arm_file: Path

    @classmethod
    def from_env(cls) -> HoldSwitch | None:
        value = os.environ.get(VARIABLE)
        if not value:
            return None
        check()
        return cls(Path(value))

    @property
    def held_file(self) -> Path:
        return self.arm_file.with_name(self.arm_file.name + ".held")

    def after_claim(
        self, worker: str, claimed: Sequence[jobs.ClaimedJob], stop: threading.Event
    ) -> None:
        """Hold here while armed; return at once when not armed."""
        if not claimed or not self.arm_file.exists():
            return
        report = {
            "worker": worker,
            "pid": os.getpid(),
            "jobs": [
                {"id": j.id, "kind": j.kind, "subject_id": j.subject_id, "tries": j.tries}
                for j in claimed
            ],
        }
        tmp = self.held_file.with_name(self.held_file.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(report))
        tmp.replace(self.held_file)
        log.info("job.held_for_test", job_ids=[j.id for j in claimed], arm_file=str(self.arm_file))
        while self.arm_file.exists() and not stop.wait(0.05):
            pass
