"""Faults under load, the short version (issue 11): real processes on a private PostgreSQL
cluster and PgBouncer, each fault once, every invariant of benchmarks/faults.py asserted.

``./pants test tests/test_faults.py -- -s`` prints the counts per fault. Needs the PostgreSQL
server binaries (/usr/lib/postgresql), pgbouncer and, as root, runuser.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmarks.faults import FAULTS, Options, run


def test_nothing_acknowledged_is_lost_under_faults() -> None:
    for tool in ("pgbouncer", "runuser") if os.geteuid() == 0 else ("pgbouncer",):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            pytest.fail(f"{tool} is missing (tools/ci/ensure-services.sh installs pgbouncer)")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.fail("PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin)")

    report = run(
        Options(users=300, learners=60, clients=6, duration=48, faults=FAULTS[:4], lease_s=3.0)
    )
    print(report.render())

    assert not report.failed, report.render()
    by_name = {f.name: f for f in report.faults}
    assert list(by_name) == list(FAULTS[:4])
    # Each fault was felt, so the invariants above were tested against a real outage.
    outages = {r["window"]: r["503_ra"] for r in report.rows}
    assert outages["pg-restart"] + outages["pgbouncer-restart"] > 0, report.rows
    assert by_name["ai-kill"].detail["held_jobs"]
    # uvicorn 0.54 (our lockfile) replaces a dead worker; the other one answered meanwhile.
    assert by_name["api-kill"].detail["respawned"] is True
    assert report.totals["submits acknowledged"] > 0
