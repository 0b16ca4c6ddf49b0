"""Faults under load (issue 11): nothing acknowledged is lost, nothing is done twice.

Real processes on loopback, all private to the run: a PostgreSQL cluster (``initdb`` into a temp
dir, its own port, so restarting it touches nobody else's server), a PgBouncer in transaction mode
in front of it (``tools/pgbouncer/start``), the API (``python -m repo_api``, 2 uvicorn workers) with
its application URL on the pooler and migrations on the direct URL, and two AI workers
(``python -m repo_ai worker``) with a short lease. Client threads play learners (each starts its
own attempt, saves answers with a value unique per request, submits) and record every request.
Meanwhile the schedule injects, one after the other: a PostgreSQL restart (``pg_ctl restart -m
fast``), SIGKILL of one API worker process, SIGKILL of one AI worker while it holds grading leases,
a PgBouncer restart, and optionally ``pg_ctl restart -m immediate`` (crash recovery).

Each fault strikes at a state the run creates and checks, never at a moment guessed by sleeping:
the AI worker is killed only once it reports, through its test-only hold switch
(``AI_TEST_ONLY_HOLD_AFTER_CLAIM``, repo_ai/hold_switch.py), that it holds jobs it has just
claimed, and those claims are confirmed in the database first; after an API-process kill the run
waits for uvicorn's replacement process. Every server is a ``tools.servers`` server: stopped when
the run ends, fails or is interrupted, and by a watchdog process if this one is killed outright.

Clients behave like a careful real client: a 503 is retried after its Retry-After, a connection
error after a short pause; a submit answered 409 ``already_submitted`` after an attempt whose
outcome was unknown (503 or lost connection) is the answer to that attempt, not an error.

Afterwards (grading waited for, bounded) the invariants are checked FROM THE DATABASE: every
acknowledged attempt stored once and no unacknowledged one; every acknowledged answer's last
value is the stored one; no duplicate response, result, grading job or AI grade; every submitted
attempt graded; every failed request a 503 with Retry-After, or a connection error in the window
of an API-process kill; no 500; no request slower than ``--bound``; after each fault a request
succeeds again within ``--recovery-bound``; no process restarted by hand. Prints a table of counts
per fault and the invariants; exit status 1 if one fails.

    ./pants run benchmarks/faults.py -- --users 20000 --learners 500 --clients 16 --duration 210 \
      --pause-after-claim 0.05
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from benchmarks.api_load import prepare_users
from repo_db import dispose_engines, get_engine
from repo_db.bulk_seed import bulk_seed
from repo_db.migrate import upgrade
from tools import servers
from tools.servers import PgBouncer, PostgresCluster

#: The AI worker's test-only switch (repo_ai/hold_switch.py): holds after claims while a file exists
HOLD_VARIABLE = "AI_TEST_ONLY_HOLD_AFTER_CLAIM"
FAULTS = ("pg-restart", "api-kill", "ai-kill", "pgbouncer-restart", "pg-crash")


@dataclass
class Options:
    users: int = 300
    clients: int = 8
    learners: int = 200
    duration: float = 60.0  # seconds of load; the faults are spread over it
    faults: tuple[str, ...] = FAULTS[:4]
    workers: int = 2
    lease_s: float = 4.0
    pause_after_claim_s: float = 0.1  # stands in for a slow grader (a remote model)
    bound_s: float = 20.0  # max per request (repo_db: 10 s pool wait, connect retries)
    recovery_bound_s: float = 10.0
    grade_timeout_s: float = 180.0
    retry_budget_s: float = 60.0
    pgbouncer_outage_s: float = 1.0
    keep: bool = False
    #: Bound on waiting for a state a fault needs (a claim held, a worker replaced), not a sleep.
    state_timeout_s: float = 180.0
    log: Callable[[str], None] = field(default=lambda msg: print(msg, flush=True))


# ---------------------------------------------------------------------------- processes


class ChildWatch(threading.Thread):
    """Samples the API's worker pids: which appeared when (uvicorn replaces dead or hung ones)."""

    def __init__(self, parent: int, t0: float) -> None:
        super().__init__(daemon=True)
        self.parent, self.t0 = parent, t0
        self.seen: dict[int, float] = {pid: 0.0 for pid in _children(parent)}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            for pid in _children(self.parent):
                self.seen.setdefault(pid, round(time.monotonic() - self.t0, 1))

    def replaced(self) -> list[float]:
        return sorted(at for at in self.seen.values() if at)


def _children(parent: int) -> list[int]:
    """uvicorn's worker processes: the parent's children that are not multiprocessing helpers."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and b"resource_tracker" not in cmdline and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return sorted(out)


# ---------------------------------------------------------------------------- load


@dataclass
class Call:
    what: str
    started: float
    latency: float
    status: int | None  # None: no HTTP answer
    error: str = ""  # connection error / timeout class name
    retry_after: bool = False


@dataclass
class Ledger:
    """What the API acknowledged (2xx), per client."""

    attempts: set[int] = field(default_factory=set)
    answers: dict[tuple[int, int], float | str] = field(default_factory=dict)
    submitted: set[int] = field(default_factory=set)
    resolved_409: int = 0  # submit answered 409 after an attempt with an unknown outcome
    gave_up: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)


class GaveUp(Exception):
    pass


class Client:
    def __init__(self, base: str, tokens: list[str], plan: dict[int, tuple[int, ...]], o: Options):
        self.http = httpx.Client(base_url=base, timeout=o.bound_s + 10)
        self.tokens = tokens
        self.plan = plan  # assessment id -> (numeric q1, numeric q2, free text q1, free text q2)
        self.o = o
        self.ledger = Ledger()

    def call(self, what: str, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        """Send until answered with something other than 503 / a lost connection (or give up)."""
        deadline = time.monotonic() + self.o.retry_budget_s
        while True:
            started = time.monotonic()
            try:
                resp = self.http.request(
                    method, path, headers={"Authorization": f"Bearer {token}"}, **kw
                )
            except httpx.TransportError as exc:
                self.ledger.calls.append(
                    Call(what, started, time.monotonic() - started, None, type(exc).__name__)
                )
                pause = 0.3
            else:
                ra = "retry-after" in resp.headers
                self.ledger.calls.append(
                    Call(what, started, time.monotonic() - started, resp.status_code, "", ra)
                )
                if resp.status_code != 503:
                    return resp
                pause = min(float(resp.headers.get("retry-after", 1)), 2.0)
            if time.monotonic() + pause > deadline:
                self.ledger.gave_up.append(f"{method} {path}")
                raise GaveUp(path)
            time.sleep(pause)

    def cycle(self, token: str, assessment_id: int, values: Iterator[int]) -> None:
        resp = self.call("start", "POST", f"/assessments/{assessment_id}/attempts", token)
        if resp.status_code not in (200, 201):
            return
        attempt = int(resp.json()["id"])
        self.ledger.attempts.add(attempt)
        n1, n2, t1, t2 = self.plan[assessment_id]
        for qid in (n1, t1, n2, t2, n1):  # n1 twice: the last acknowledged value must win
            n = next(values)
            value: float | str = f"A reference answer, request {n}" if qid in (t1, t2) else float(n)
            key = "text_value" if isinstance(value, str) else "numeric_value"
            resp = self.call(
                "save", "PUT", f"/attempts/{attempt}/responses/{qid}", token, json={key: value}
            )
            if resp.status_code != 200:
                return
            self.ledger.answers[(attempt, qid)] = value
        before = len(self.ledger.calls)
        resp = self.call("submit", "POST", f"/attempts/{attempt}/submit", token)
        unknown = any(c.status in (None, 503) for c in self.ledger.calls[before:])
        if resp.status_code == 200:
            self.ledger.submitted.add(attempt)
        elif resp.status_code == 409 and unknown:
            self.ledger.submitted.add(attempt)
            self.ledger.resolved_409 += 1
        if resp.status_code == 200:
            self.call("result", "GET", f"/attempts/{attempt}/result", token)

    def run(self, stop: threading.Event, values: Iterator[int], offset: int) -> None:
        assessments = sorted(self.plan)
        for k in itertools.count():
            if stop.is_set():
                return
            token = self.tokens[k % len(self.tokens)]
            try:
                self.cycle(token, assessments[(offset + k) % len(assessments)], values)
            except GaveUp:
                continue


# ---------------------------------------------------------------------------- faults


@dataclass
class Fault:
    name: str
    started: float
    ended: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _private_stack(o: Options) -> Iterator[dict[str, Any]]:
    """Cluster, pooler, migrated and seeded database, API and two AI workers. Every one is a
    tools.servers server: stopped on leaving this block, and by the watchdog if this process dies
    without leaving it (killed, timed out)."""
    workdir = Path(tempfile.mkdtemp(prefix="repo-faults-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with (
            PostgresCluster(prefix="repo-faults-pg-") as cluster,
            PgBouncer(cluster.port) as pooler,
        ):
            direct = cluster.url(database="faults")
            with get_engine(cluster.url()).connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("CREATE DATABASE faults")
                )
            started = time.perf_counter()
            upgrade(get_engine(direct))
            bulk_seed(o.users, get_engine(direct))
            users = prepare_users(direct, o.learners, o.users)
            o.log(f"seeded {o.users} users in {time.perf_counter() - started:.1f} s")
            dispose_engines()
            env = {
                **os.environ,
                "DATABASE_URL": cluster.url(pooler.port, "faults"),
                "DATABASE_POOLED": "true",
                "DATABASE_DIRECT_URL": direct,
                "API_LOG_LEVEL": "warning",
                "DB_LOG_QUERIES": "0",
                "DB_POOL_SIZE": "5",
                "AI_LOG_JSON": "false",
                "AI_BATCH_SIZE": "2",
                "AI_POLL_INTERVAL_SECONDS": "0.2",
                "AI_SWEEP_INTERVAL_SECONDS": "5",
                # The children import exactly what this process imports (Pants sandbox or pex).
                "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path if p),
            }
            for key in ("APP_ENV", "NODE_ENV", "NEON_DATABASE_URL", "DATABASE_READ_URL"):
                env.pop(key, None)
            env.pop(HOLD_VARIABLE, None)
            base, api = _start_api(env, o, workdir, procs)
            ai_argv = [sys.executable, "-m", "repo_ai", "worker", "--lease-seconds", str(o.lease_s)]
            ai_argv += ["--pause-after-claim", str(o.pause_after_claim_s)]
            hold = workdir / "hold"
            # Only the first worker (the ai-kill victim) carries the test-only hold switch.
            ai = [
                servers.spawn(
                    f"ai{i}",
                    ai_argv,
                    env={**env, HOLD_VARIABLE: str(hold)} if i == 1 else env,
                    log=workdir / f"ai{i}.log",
                )
                for i in (1, 2)
            ]
            procs += ai
            try:
                yield {
                    "cluster": cluster,
                    "pooler": pooler,
                    "direct": direct,
                    "base": base,
                    "api": api,
                    "ai": ai,
                    "hold": hold,
                    "users": users,
                    "workdir": workdir,
                }
            finally:
                for proc in reversed(procs):
                    servers.stop_process(proc)
                dispose_engines()
    finally:
        for proc in reversed(procs):
            servers.stop_process(proc)
        dispose_engines()
        if not o.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _start_api(
    env: dict[str, str], o: Options, workdir: Path, procs: list[subprocess.Popen[bytes]]
) -> tuple[str, subprocess.Popen[bytes]]:
    """The API (uvicorn, ``o.workers`` processes) on a free port, once /readyz answers 200."""
    port = servers.free_port()
    log = workdir / "api.log"
    argv = [sys.executable, "-m", "repo_api", "--port", str(port), "--workers", str(o.workers)]
    argv += ["--no-seed", "--no-migrate", "--log-level", env["API_LOG_LEVEL"]]
    api = servers.spawn("api", argv, env=env, log=log)
    procs.append(api)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + o.state_timeout_s
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return base, api
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or api.poll() is not None:
            raise RuntimeError(f"API did not become ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


def _scalar(direct: str, sql: str, **params: Any) -> Any:
    with get_engine(direct).connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _rows(direct: str, sql: str, **params: Any) -> list[Any]:
    with get_engine(direct).connect() as conn:
        return list(conn.execute(text(sql), params).all())


def inject(name: str, stack: dict[str, Any], o: Options) -> Fault:
    fault = Fault(name, time.monotonic())
    if name in ("pg-restart", "pg-crash"):
        mode = "fast" if name == "pg-restart" else "immediate"
        stack["cluster"].pg_ctl("restart", "-m", mode)
        fault.detail["mode"] = mode
    elif name == "pgbouncer-restart":
        stack["pooler"].stop()
        time.sleep(o.pgbouncer_outage_s)
        stack["pooler"].start()
    elif name == "api-kill":
        parent = stack["api"].pid
        before = _children(parent)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        fault.ended = time.monotonic()
        # Wait for the state (a new worker process), bounded generously: under load uvicorn's
        # replacement takes as long as the app's imports.
        respawned = _wait_for(
            lambda: [p for p in _children(parent) if p not in before], o.state_timeout_s
        )
        fault.detail = {
            "killed_pid": victim,
            "workers_before": len(before),
            "respawned": bool(respawned),
            "respawn_s": round(time.monotonic() - fault.ended, 1) if respawned else None,
        }
        return fault
    elif name == "ai-kill":
        fault.detail = _kill_ai_worker_holding_a_claim(stack, o)
        fault.started = fault.detail.pop("killed_at")
    else:
        raise ValueError(f"unknown fault {name}")
    fault.ended = time.monotonic()
    return fault


def _wait_for(probe: Callable[[], Any], timeout_s: float) -> Any:
    """Poll ``probe`` until it returns something truthy (returned) or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _succeeded_since(clients: list[Client], since: float) -> bool:
    recent = [c for client in clients for c in client.ledger.calls[-20:]]
    return any(c.status and c.status < 400 and c.started + c.latency >= since for c in recent)


def _kill_ai_worker_holding_a_claim(stack: dict[str, Any], o: Options) -> dict[str, Any]:
    """SIGKILL the first AI worker at a state made for it, not at a guessed moment: arm its
    test-only hold switch, wait until it reports the jobs it has just claimed (and holds, idle),
    check those claims in the database, kill it. It cannot finish them: the other worker must."""
    victim: subprocess.Popen[bytes] = stack["ai"][0]
    arm: Path = stack["hold"]
    held_file = arm.with_name(arm.name + ".held")
    held_file.unlink(missing_ok=True)
    arm.touch()
    if not _wait_for(lambda: held_file.exists() or victim.poll() is not None, o.state_timeout_s):
        raise RuntimeError(f"ai-kill: the AI worker claimed nothing within {o.state_timeout_s} s")
    if victim.poll() is not None:
        raise RuntimeError(f"ai-kill: the AI worker exited ({victim.returncode}) before a claim")
    report = json.loads(held_file.read_text())
    claimed = {j["id"]: j for j in report["jobs"]}
    rows = _rows(
        stack["direct"],
        "SELECT id, status, lease_owner, tries FROM jobs WHERE id = ANY(:ids)",
        ids=sorted(claimed),
    )
    killed_at = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    arm.unlink()
    # The claim is in the database: still the victim's, or already retaken after its lease
    # expired (a later try); never finished by the victim, which was holding.
    confirmed = [
        r[0]
        for r in rows
        if (r[1] == "running" and r[2] == report["worker"]) or r[3] > claimed[r[0]]["tries"]
    ]
    return {
        "killed_at": killed_at,
        "worker_pid": report["pid"],
        "victim_pid": victim.pid,
        "held_jobs": [(j["id"], j["subject_id"], j["tries"]) for j in report["jobs"]],
        "claims_confirmed_in_db": confirmed,
    }


# ---------------------------------------------------------------------------- report


@dataclass
class Report:
    rows: list[dict[str, Any]]
    invariants: dict[str, tuple[float, int | str, bool]]  # name -> (value, expected, ok)
    faults: list[Fault]
    totals: dict[str, Any]

    @property
    def failed(self) -> list[str]:
        return [k for k, (_v, _e, ok) in self.invariants.items() if not ok]

    def render(self) -> str:
        head = (
            f"{'window':20} {'requests':>8} {'2xx':>6} {'503+RA':>7} {'503-RA':>7} "
            f"{'conn err':>8} {'500':>4} {'other':>5} {'max s':>6} {'recovery s':>10}"
        )
        lines = [head, "-" * len(head)]
        for r in self.rows:
            rec = "-" if r["recovery_s"] is None else f"{r['recovery_s']:.1f}"
            lines.append(
                f"{r['window']:20} {r['requests']:>8} {r['ok']:>6} {r['503_ra']:>7} "
                f"{r['503_no_ra']:>7} {r['conn']:>8} {r['500']:>4} {r['other']:>5} "
                f"{r['max_s']:>6.2f} {rec:>10}"
            )
        lines.append("")
        for f in self.faults:
            lines.append(f"fault {f.name}: {f.ended - f.started:.1f} s to inject; {f.detail}")
        lines.append("")
        for name, (value, expected, ok) in self.invariants.items():
            lines.append(f"{'ok  ' if ok else 'FAIL'} {name}: {value} (expected {expected})")
        lines.append(f"totals: {self.totals}")
        return "\n".join(lines)


def _window_rows(calls: list[Call], faults: list[Fault]) -> list[dict[str, Any]]:
    """Counts per window, from a fault's start to the next one's; a request belongs to the window
    in which it ENDED, so one cut short by a fault counts for that fault."""
    last = float("inf")
    edges = [("steady (no fault)", 0.0, faults[0].started if faults else last)]
    for i, f in enumerate(faults):
        edges.append((f.name, f.started, faults[i + 1].started if i + 1 < len(faults) else last))
    rows = []
    for (name, start, stop), fault in zip(edges, [None, *faults], strict=True):
        inside = [c for c in calls if start <= c.started + c.latency < stop]
        recovery = None
        if fault is not None:
            after = [c.started + c.latency for c in inside if c.status and c.status < 400]
            after = [t for t in after if t >= fault.ended]
            recovery = (min(after) - fault.ended) if after else float("inf")
        rows.append(
            {
                "window": name,
                "requests": len(inside),
                "ok": sum(1 for c in inside if c.status and 200 <= c.status < 300),
                "503_ra": sum(1 for c in inside if c.status == 503 and c.retry_after),
                "503_no_ra": sum(1 for c in inside if c.status == 503 and not c.retry_after),
                "conn": sum(1 for c in inside if c.status is None),
                "500": sum(1 for c in inside if c.status is not None and c.status >= 500)
                - sum(1 for c in inside if c.status == 503),
                "other": sum(1 for c in inside if c.status and 300 <= c.status < 500),
                "max_s": max((c.latency for c in inside), default=0.0),
                "recovery_s": recovery,
            }
        )
    return rows


def check(
    stack: dict[str, Any],
    ledgers: list[Ledger],
    faults: list[Fault],
    first_attempt: int,
    o: Options,
) -> dict[str, tuple[float, int | str, bool]]:
    direct = stack["direct"]
    acked = set().union(*(lg.attempts for lg in ledgers))
    submitted = set().union(*(lg.submitted for lg in ledgers))
    answers: dict[tuple[int, int], float | str] = {}
    for lg in ledgers:
        answers.update(lg.answers)
    calls = [c for lg in ledgers for c in lg.calls]
    learners = [int(u) for u in _learner_ids(direct)]
    inv: dict[str, tuple[float, int | str, bool]] = {}

    def expect(name: str, value: int, expected: int = 0) -> None:
        inv[name] = (value, expected, value == expected)

    stored = {
        r[0]: r
        for r in _rows(
            direct, "SELECT id, status FROM attempts WHERE id = ANY(:ids)", ids=sorted(acked)
        )
    }
    expect("acknowledged attempts missing from the database", len(acked - set(stored)))
    run_attempts = {
        r[0]
        for r in _rows(
            direct,
            "SELECT id FROM attempts WHERE id >= :first AND user_id = ANY(:users)",
            first=first_attempt,
            users=learners,
        )
    }
    expect("attempts stored but never acknowledged", len(run_attempts - acked))
    stored_answers = {
        (r[0], r[1]): (r[3] if r[3] is not None else r[2])
        for r in _rows(
            direct,
            "SELECT attempt_id, question_id, numeric_value, text_value FROM responses "
            "WHERE attempt_id = ANY(:ids)",
            ids=sorted(acked),
        )
    }
    expect(
        "acknowledged answers whose last value is not the stored one",
        sum(1 for k, v in answers.items() if stored_answers.get(k) != v),
    )
    expect("stored answers never acknowledged", len(set(stored_answers) - set(answers)))
    ids = sorted(run_attempts | acked)
    expect(
        "duplicate responses (attempt, question)",
        _scalar(
            direct,
            "SELECT count(*) FROM (SELECT 1 FROM responses WHERE attempt_id = ANY(:ids) "
            "GROUP BY attempt_id, question_id HAVING count(*) > 1) d",
            ids=ids,
        ),
    )
    expect(
        "attempts with more than one result",
        _scalar(
            direct,
            "SELECT count(*) FROM (SELECT 1 FROM results WHERE attempt_id = ANY(:ids) "
            "GROUP BY attempt_id HAVING count(*) > 1) d",
            ids=ids,
        ),
    )
    expect(
        "attempts with more than one grading job",
        _scalar(
            direct,
            "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE kind = 'grade_attempt' AND "
            "subject_id = ANY(:ids) GROUP BY subject_id HAVING count(*) > 1) d",
            ids=ids,
        ),
    )
    expect(
        "answers graded more than once",
        _scalar(
            direct,
            "SELECT count(*) FROM (SELECT 1 FROM feedback f JOIN responses r ON r.id = "
            "f.response_id WHERE r.attempt_id = ANY(:ids) GROUP BY f.response_id "
            "HAVING count(*) > 1) d",
            ids=ids,
        ),
    )
    db_submitted = {
        r[0]
        for r in _rows(
            direct,
            "SELECT id FROM attempts WHERE id = ANY(:ids) AND submitted_at IS NOT NULL",
            ids=ids,
        )
    }
    expect("submitted attempts never acknowledged", len(db_submitted - submitted))
    expect("acknowledged submits not stored", len(submitted - db_submitted))
    ungraded = _rows(
        direct,
        "SELECT a.id FROM attempts a LEFT JOIN results r ON r.attempt_id = a.id "
        "WHERE a.id = ANY(:ids) AND (a.status <> 'graded' OR r.id IS NULL OR r.passed IS NULL)",
        ids=sorted(submitted),
    )
    expect("submitted attempts not graded (status, result, passed)", len(ungraded))
    expect(
        "free-text answers of submitted attempts without exactly one AI grade",
        _scalar(
            direct,
            "SELECT count(*) FROM responses r JOIN questions q ON q.id = r.question_id "
            "WHERE r.attempt_id = ANY(:ids) AND q.kind = 'free_text' AND "
            "(SELECT count(*) FROM feedback f WHERE f.response_id = r.id) <> 1",
            ids=sorted(submitted),
        ),
    )
    # A lost connection is the kill's when the request was in flight at the kill (or was sent
    # within a second after it, on a connection to the dead process).
    kills = [f.ended for f in faults if f.name == "api-kill"]
    conn_outside = [
        c
        for c in calls
        if c.status is None
        and not any(c.started <= k + 1.0 and c.started + c.latency >= k for k in kills)
    ]
    expect(
        "HTTP 500 (or any 5xx but 503)",
        sum(1 for c in calls if c.status and c.status >= 500 and c.status != 503),
    )
    expect(
        "503 without Retry-After", sum(1 for c in calls if c.status == 503 and not c.retry_after)
    )
    expect(
        "other non-2xx (409 only as a resolved submit)",
        sum(1 for c in calls if c.status and 300 <= c.status < 500)
        - sum(lg.resolved_409 for lg in ledgers),
    )
    expect("connection errors outside an API-process kill", len(conn_outside))
    expect(
        f"requests slower than the bound ({o.bound_s:.0f} s)",
        sum(1 for c in calls if c.latency > o.bound_s),
    )
    expect("requests given up after the retry budget", sum(len(lg.gave_up) for lg in ledgers))
    for f in faults:
        held = f.detail.get("held_jobs") or []
        if f.name == "ai-kill":
            inv["AI kill: the worker was holding claimed jobs at the kill"] = (
                len(held),
                ">0",
                len(held) > 0 and f.detail["worker_pid"] == f.detail["victim_pid"],
            )
            expect(
                "AI kill: held claims not found in the database",
                len(held) - len(f.detail["claims_confirmed_in_db"]),
            )
            done = _rows(
                direct,
                "SELECT id, tries FROM jobs WHERE id = ANY(:ids) AND status = 'done' "
                "AND lease_owner IS NULL",
                ids=[h[0] for h in held],
            )
            # A later try than the victim's: claimed again after its lease ran out.
            tries = {job_id: t for job_id, _subject, t in held}
            retaken = sum(1 for job_id, t in done if t > tries[job_id])
            expect(
                "AI kill: held jobs not retaken and finished by the other worker",
                len(held) - retaken,
            )
    expect("API server exited (nothing restarts it by hand)", int(stack["api"].poll() is not None))
    expect("surviving AI worker exited", int(stack["ai"][1].poll() is not None))
    try:
        ready = httpx.get(f"{stack['base']}/readyz", timeout=o.bound_s).status_code
    except httpx.TransportError:
        ready = 0
    inv["API ready after the run (/readyz)"] = (ready, 200, ready == 200)
    return inv


def _learner_ids(direct: str) -> list[int]:
    return [r[0] for r in _rows(direct, "SELECT user_id FROM auth_tokens")]


def _plan(direct: str) -> dict[int, tuple[int, ...]]:
    rows = _rows(
        direct,
        "SELECT q.assessment_id, q.kind, q.id FROM questions q JOIN assessments a "
        "ON a.id = q.assessment_id WHERE a.status = 'published' AND q.kind IN "
        "('numeric', 'free_text') ORDER BY q.assessment_id, q.kind, q.position",
    )
    by: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for aid, kind, qid in rows:
        by[aid][kind].append(qid)
    return {
        aid: (k["numeric"][0], k["numeric"][1], k["free_text"][0], k["free_text"][1])
        for aid, k in by.items()
        if len(k["numeric"]) >= 2 and len(k["free_text"]) >= 2
    }


def run(o: Options) -> Report:
    with _private_stack(o) as stack:
        direct = stack["direct"]
        plan = _plan(direct)
        first_attempt = int(_scalar(direct, "SELECT coalesce(max(id), 0) + 1 FROM attempts"))
        tokens = stack["users"]["learner"]
        clients = [Client(stack["base"], tokens[i :: o.clients], plan, o) for i in range(o.clients)]
        values = itertools.count(1)  # next() on a count is atomic under the GIL
        stop = threading.Event()
        threads = [
            threading.Thread(target=c.run, args=(stop, values, i), daemon=True)
            for i, c in enumerate(clients)
        ]
        t0 = time.monotonic()
        watch = ChildWatch(stack["api"].pid, t0)
        watch.start()
        load_before = os.getloadavg()[0]
        for t in threads:
            t.start()
        o.log(
            f"load: {o.clients} clients, {len(tokens)} learners, {len(plan)} assessments, "
            f"{o.duration:.0f} s; faults {', '.join(o.faults)}; load average {load_before:.2f}"
        )
        gap = o.duration / (len(o.faults) + 1)
        faults: list[Fault] = []
        for k, name in enumerate(o.faults):
            time.sleep(max(0.0, t0 + gap * (k + 1) - time.monotonic()))
            fault = inject(name, stack, o)
            faults.append(fault)
            o.log(f"  {fault.started - t0:6.1f} s {name}: {fault.detail or 'done'}")
            # The next fault only once a request has succeeded after this one (or the recovery
            # bound has passed): a fault that waited long for its state must not cut the
            # window in which this one's recovery is measured.
            _wait_for(partial(_succeeded_since, clients, fault.ended), o.recovery_bound_s + 1)
        time.sleep(max(0.0, t0 + o.duration - time.monotonic()))
        stop.set()
        watch.stop.set()
        for t in threads:
            t.join(timeout=o.retry_budget_s * 8)
        end = time.monotonic()
        load_after = os.getloadavg()[0]
        submitted = sorted(set().union(*(c.ledger.submitted for c in clients)))
        deadline = time.monotonic() + o.grade_timeout_s
        while time.monotonic() < deadline:
            left = _scalar(
                direct,
                "SELECT count(*) FROM attempts WHERE id = ANY(:ids) AND status <> 'graded'",
                ids=submitted,
            )
            if not left:
                break
            time.sleep(0.5)
        grading_s = time.monotonic() - end
        ledgers = [c.ledger for c in clients]
        calls = [call for lg in ledgers for call in lg.calls]
        report = Report(
            rows=_window_rows(calls, faults),
            invariants=check(stack, ledgers, faults, first_attempt, o),
            faults=faults,
            totals={
                "requests": len(calls),
                "attempts acknowledged": sum(len(lg.attempts) for lg in ledgers),
                "answers acknowledged": sum(len(lg.answers) for lg in ledgers),
                "submits acknowledged": len(submitted),
                "submits resolved by 409": sum(lg.resolved_409 for lg in ledgers),
                "grading done after load (s)": round(grading_s, 1),
                "load average": f"{load_before:.2f} -> {load_after:.2f}",
            },
        )
        for row in report.rows:
            if row["recovery_s"] is not None:
                ok = row["recovery_s"] <= o.recovery_bound_s
                report.invariants[
                    f"{row['window']}: a request succeeds again within "
                    f"{o.recovery_bound_s:.0f} s"
                ] = (round(row["recovery_s"], 1), "<= bound", ok)
        report.totals["API workers started during the run (at s)"] = watch.replaced()
        kills = sum(1 for f in faults if f.name == "api-kill")
        report.invariants["API workers replaced by uvicorn beyond the killed ones"] = (
            len(watch.replaced()) - kills,
            0,
            len(watch.replaced()) <= kills,
        )
        errors = sorted({f"{c.what}:{c.error}" for c in calls if c.error})
        report.totals["connection error kinds"] = errors
        return report


def main() -> int:
    defaults = Options()
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20_000, help="seeded users (bulk_seed)")
    parser.add_argument("--learners", type=int, default=500, help="learners with a token")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    parser.add_argument("--duration", type=float, default=200.0, help="seconds of load")
    parser.add_argument(
        "--faults",
        nargs="+",
        choices=FAULTS,
        default=list(FAULTS),
        help="in this order, evenly spread over the load",
    )
    parser.add_argument("--workers", type=int, default=defaults.workers, help="API processes")
    parser.add_argument("--lease", type=float, default=defaults.lease_s, help="AI lease (s)")
    parser.add_argument(
        "--pause-after-claim",
        type=float,
        default=defaults.pause_after_claim_s,
        help="AI workers sleep this long per claimed job (a slow grader)",
    )
    parser.add_argument(
        "--bound", type=float, default=defaults.bound_s, help="max seconds per request"
    )
    parser.add_argument(
        "--recovery-bound",
        type=float,
        default=defaults.recovery_bound_s,
        help="seconds after each fault within which a request must succeed again",
    )
    parser.add_argument(
        "--grade-timeout",
        type=float,
        default=600.0,
        help="seconds to wait after the load until every submitted attempt is graded",
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs (API, AI workers)")
    args = parser.parse_args()
    os.environ.setdefault("DB_LOG_QUERIES", "0")
    report = run(
        Options(
            users=args.users,
            learners=args.learners,
            clients=args.clients,
            duration=args.duration,
            faults=tuple(args.faults),
            workers=args.workers,
            lease_s=args.lease,
            pause_after_claim_s=args.pause_after_claim,
            bound_s=args.bound,
            recovery_bound_s=args.recovery_bound,
            grade_timeout_s=args.grade_timeout,
            keep=args.keep,
        )
    )
    print(report.render())
    print("invariants: " + ("all hold" if not report.failed else f"FAILED {report.failed}"))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
