"""Read routing on a REAL streaming standby (``repo_db.standby_pair``): a private primary and a hot
standby made with ``pg_basebackup -R`` that replays every commit late (``APPLY_DELAY``).

What a read-only unit of work sees shows where it ran: a row committed on the primary a moment ago
is missing on the standby for a few seconds. (5 s here, not the issue's 2 s: a one-shot "still
missing" check must hold even if a loaded machine stalls this process for a second or two.)
The rules (repo_db._routing):

* a read-only unit of its own (not nested) runs on the standby when DATABASE_READ_URL is set, it
  answers and it is within DATABASE_READ_MAX_LAG_SECONDS;
* given a ``client``, only once the standby has replayed that client's last commit
  (read-your-writes), else on the primary;
* writing units, nested units, ``fresh=True`` and helpers outside a unit run on the primary;
* a standby that is down sends reads to the primary at once, never an error.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

import repo_db
from repo_db import check_health, remember_writes, replica_status, unit_of_work
from repo_db._engine import build_engine, get_read_engine
from repo_db._routing import _routers, routing_counts
from repo_db.config import DbSettings, get_settings
from repo_db.models import User
from repo_db.standby_pair import StandbyPair
from repo_db.testing import replica_env

SETTINGS = DbSettings(db_log_queries=False, db_connect_retries=0, node_env="test")
# Far above the replay delay: these tests look at read-your-writes, not at the lag bound.
PATIENT = {"DATABASE_READ_MAX_LAG_SECONDS": "3600"}


def _user(email: str) -> User:
    return User(email=email, password_hash="x", display_name="R")


def _sees(email: str, *, client: str | None = None, fresh: bool = False) -> bool:
    with unit_of_work(read_only=True, client=client, fresh=fresh) as session:
        found = session.execute(select(User.id).where(User.email == email)).first()
    return found is not None


def _on(engine: Engine, email: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(User.id).where(User.email == email)).first() is not None


APPLY_DELAY = "5s"


@pytest.fixture()
def standby(standby_pair: StandbyPair) -> Iterator[StandbyPair]:
    """The module's pair, caught up (no earlier test's commit still waiting to be replayed)."""
    if standby_pair.apply_delay != APPLY_DELAY:
        standby_pair.set_apply_delay(APPLY_DELAY)
    _wait_caught_up(standby_pair)
    yield standby_pair


def _wait_caught_up(pair: StandbyPair, timeout_s: float = 30.0) -> None:
    primary = build_engine(pair.primary_url, settings=SETTINGS)
    replica = build_engine(pair.standby_url, settings=SETTINGS)
    try:
        with primary.connect() as conn:
            target = conn.exec_driver_sql("SELECT pg_current_wal_lsn()").scalar_one()
        deadline = time.monotonic() + timeout_s
        while True:
            with replica.connect() as conn:
                done = conn.exec_driver_sql(
                    "SELECT pg_last_wal_replay_lsn() >= %(t)s::pg_lsn", {"t": target}
                ).scalar_one()
            if done:
                return
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.1)
    finally:
        primary.dispose()
        replica.dispose()


def test_the_standby_streams_and_replays_commits_late(standby: StandbyPair) -> None:
    primary = build_engine(standby.primary_url, settings=SETTINGS)
    replica = build_engine(standby.standby_url, settings=SETTINGS)
    try:
        with primary.begin() as conn:
            conn.execute(
                insert(User),
                [{"email": "lag@r.example", "password_hash": "x", "display_name": "L"}],
            )
        written = time.monotonic()
        assert not _on(replica, "lag@r.example")  # streamed, not yet replayed
        while not _on(replica, "lag@r.example"):
            time.sleep(0.05)
        assert time.monotonic() - written >= 4.5
        with replica.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_is_in_recovery()").scalar_one() is True
        with primary.connect() as conn:
            state = conn.exec_driver_sql("SELECT state FROM pg_stat_replication").scalar_one()
        assert state == "streaming"
    finally:
        primary.dispose()
        replica.dispose()


def test_a_read_without_client_reads_the_lagging_standby(standby: StandbyPair) -> None:
    with replica_env(standby, **PATIENT):
        with unit_of_work() as session:
            session.add(_user("anon@r.example"))
        assert not _sees("anon@r.example")  # the standby: 5 s behind
        assert _sees("anon@r.example", fresh=True)  # fresh=True: the primary
        assert repo_db.find_by("users", "email", "anon@r.example") is not None  # helper: primary
        assert routing_counts()["replica"] >= 1


def test_a_client_reads_its_own_writes_at_once_30_times(standby: StandbyPair) -> None:
    with replica_env(standby, **PATIENT):
        stale = 0
        for i in range(30):
            with unit_of_work(client="learner-1") as session:
                session.add(_user(f"own-{i}@r.example"))
            stale += not _sees(f"own-{i}@r.example", client="learner-1")
        assert stale == 0
        counts = routing_counts()
        assert counts["primary_behind"] >= 30  # the standby was behind every time
        # another client is not held back by learner-1's writes: it reads the standby
        assert not _sees("own-29@r.example", client="someone-else")
        _wait_caught_up(standby)
        before = routing_counts()["replica"]
        assert _sees("own-29@r.example", client="learner-1")  # caught up: the standby again
        assert routing_counts()["replica"] == before + 1


def test_remember_writes_covers_a_client_that_begins_in_the_unit(standby: StandbyPair) -> None:
    with replica_env(standby, **PATIENT):
        with unit_of_work() as session:
            session.add(_user("login@r.example"))
            remember_writes(session, client="new-session")
        assert _sees("login@r.example", client="new-session")
        assert not _sees("login@r.example", client="other-session")


def test_positions_in_redis_hold_across_processes(standby: StandbyPair) -> None:
    with replica_env(standby, REDIS_URL="redis://127.0.0.1:6379/0", **PATIENT):
        with unit_of_work(client="shared-client") as session:
            session.add(_user("redis@r.example"))
        _routers.clear()  # a new process: nothing remembered locally
        assert _sees("redis@r.example", client="shared-client")


def test_writes_and_nested_reads_stay_on_the_primary(standby: StandbyPair) -> None:
    with replica_env(standby, **PATIENT):
        with unit_of_work() as outer:
            outer.add(_user("uncommitted@r.example"))
            outer.flush()
            with unit_of_work(read_only=True, client="c") as inner:
                seen = inner.execute(select(User.email)).scalars().all()
            outer.rollback()
        assert "uncommitted@r.example" in seen


def test_reads_go_to_the_primary_while_the_standby_lags_beyond_the_bound(
    standby: StandbyPair,
) -> None:
    with replica_env(standby, DATABASE_READ_MAX_LAG_SECONDS="0.5"):
        with unit_of_work() as session:
            session.add(_user("bound@r.example"))
        time.sleep(0.8)  # the commit waits for its 5 s; the last replayed one is older
        status = replica_status()
        assert status.state == "lagging" and (status.lag_seconds or 0) > 0.5
        assert _sees("bound@r.example")  # no client, yet fresh: the primary served it
        assert routing_counts()["primary_lag"] >= 1
        assert check_health().replica["state"] == "lagging"


def test_without_a_read_url_read_only_units_use_the_primary(standby: StandbyPair) -> None:
    with replica_env(standby):
        os.environ.pop("DATABASE_READ_URL")
        get_settings.cache_clear()
        assert get_read_engine() is repo_db.get_engine()
        assert replica_status().state == "not_configured"
        with unit_of_work() as session:
            session.add(_user("noreplica@r.example"))
        assert _sees("noreplica@r.example")


def test_a_stopped_standby_costs_no_failed_read(standby: StandbyPair) -> None:
    """The issue's check: with the standby stopped, 50 reads, 0 failures (none waits long)."""
    with replica_env(standby, **PATIENT):
        assert _sees("anon@r.example")
        standby.stop_standby()
        try:
            started = time.monotonic()
            failures = 0
            for _ in range(50):
                try:
                    _sees("anon@r.example", client="learner-1")
                except repo_db.RepoDbError:
                    failures += 1
            elapsed = time.monotonic() - started
            assert failures == 0
            assert routing_counts()["primary_down"] >= 50
            health = check_health()
            assert health.status == "ok" and health.replica["state"] == "down"
            assert elapsed < 10  # never a connect retry loop per read (no timed claim)
        finally:
            standby.start_standby()
        time.sleep(float(get_settings().database_read_retry_seconds) + 0.2)
        _wait_caught_up(standby)
        before = routing_counts()["replica"]
        assert _sees("anon@r.example")  # back on the standby after the retry period
        assert routing_counts()["replica"] == before + 1


def test_a_killed_test_process_leaves_no_server_running(tmp_path: Path) -> None:
    """SIGKILL runs no ``finally``: the pair's watchdog stops both servers anyway."""
    script = textwrap.dedent(
        """
        import sys, time
        from repo_db.standby_pair import StandbyPair
        pair = StandbyPair(apply_delay="0").start()
        print(pair.dir, *pair.postmaster_pids(), flush=True)
        time.sleep(600)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p)}
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    directory, *pids = child.stdout.readline().split()
    assert len(pids) == 2 and all(_alive(int(pid)) for pid in pids)
    child.send_signal(signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 60
    while any(_alive(int(pid)) for pid in pids) or Path(directory).exists():
        assert time.monotonic() < deadline, f"servers {pids} or {directory} outlived the test"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_clients_change_nothing_without_a_replica(db_default_engine: Engine) -> None:
    """SQLite (no replica) and PostgreSQL without DATABASE_READ_URL: as before, no routing."""
    with unit_of_work(client="c") as session:
        session.add(_user("plain@r.example"))
        remember_writes(session, client="d")  # a no-op
    assert _sees("plain@r.example", client="c") and _sees("plain@r.example", client="d")
    assert routing_counts() == {}
