"""CPU milliseconds the API spends per request, per endpoint (one worker, one client in series).

Latency under load depends on everything else the machine does; the CPU a worker spends per
request much less (it is read from /proc/<pid>/stat: time the worker ran, not time it waited).
So this is the figure to compare when a change claims to make requests cheaper: fewer round
trips, fewer thread-pool hops, less ORM work. The baseline, in the same run, is ``GET /healthz``
(no database: HTTP parsing, middlewares, routing, JSON).

Seeds a private PostgreSQL database (``--users``, binary COPY), serves ``python -m repo_api``
with ONE worker (``--workers 1`` runs in-process, so its pid is the worker), then for each of
``--rounds`` rounds runs every endpoint ``--requests`` times in series on a keep-alive
connection, after ``--warmup`` unmeasured requests each. Prints min/median/max over the rounds of
CPU ms per request and its ratio to /healthz, and wall ms per request. Nothing is asserted.

    ./pants run benchmarks/api_cpu.py
    ./pants run benchmarks/api_cpu.py -- --requests 500 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.api_load import Variant, prepare_users, start_server, tear_down
from benchmarks.cpu_account import process_stat
from benchmarks.private_db import private_database
from repo_db.bulk_seed import bulk_seed

Call = Callable[[httpx.Client, int], httpx.Response]


def cpu_seconds(pid: int) -> float:
    stat = process_stat(pid)
    if stat is None:
        raise SystemExit(f"the API process {pid} is gone")
    return stat[1]


def endpoints(users: dict[str, list[str]]) -> dict[str, Call]:
    learner = {"Authorization": f"Bearer {users['learner'][0]}"}
    put_token, put_path = users["put"][1].split("\t")
    writer = {"Authorization": f"Bearer {put_token}"}
    assessment = users["catalogue_ids"][0]
    return {
        "GET /healthz (baseline)": lambda c, i: c.get("/healthz"),
        "GET /users/me": lambda c, i: c.get("/users/me", headers=learner),
        "GET /assessments": lambda c, i: c.get("/assessments?limit=20", headers=learner),
        "GET /assessments/{id}": lambda c, i: c.get(f"/assessments/{assessment}", headers=learner),
        "GET /attempts (history)": lambda c, i: c.get("/attempts?limit=20", headers=learner),
        # A new value each time: a real UPDATE of the learner's own answer.
        "PUT /attempts/{id}/responses/{qid}": lambda c, i: c.put(
            put_path, json={"numeric_value": i % 1000}, headers=writer
        ),
    }


def measure(client: httpx.Client, call: Call, pid: int, n: int, offset: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per request over n calls; every answer must be a 2xx."""
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    for i in range(n):
        response = call(client, offset + i)
        if not response.is_success:
            raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
    return 1000 * (cpu_seconds(pid) - cpu0) / n, 1000 * (time.perf_counter() - wall0) / n


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000, help="seeded users")
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests first")
    parser.add_argument("--log-level", default="warning", help="API log level")
    parser.add_argument(
        "--pre-ping",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="DB_POOL_PRE_PING for the API (default: on, as deployed)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "REPO_DB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres"
        ),
        help="server admin URL; a private database is created and dropped on it",
    )
    args = parser.parse_args()
    args.workers = 1  # read by start_server

    with private_database(args.pg_url, prefix="repo_cpu") as engine:
        url = engine.url.render_as_string(hide_password=False)
        bulk_seed(args.users, engine)
        users = prepare_users(url, 10, args.users)
        engine.dispose()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "API_LOG_LEVEL": args.log_level,
            "DB_POOL_PRE_PING": "true" if args.pre_ping else "false",
            "DB_LOG_QUERIES": "0",
        }
        env.pop("NODE_ENV", None)
        env.pop("APP_ENV", None)
        workdir = Path(tempfile.mkdtemp(prefix="api-cpu-"))
        base, server = start_server(Variant("cpu", {}), env, args, workdir)
        try:
            measure_all(args, base, server.pid, endpoints(users))
        finally:
            tear_down([server], engine, None, workdir)  # the database is dropped on leaving
    return 0


def measure_all(args: argparse.Namespace, base: str, pid: int, calls: dict[str, Call]) -> None:
    """Warm every endpoint up, run the interleaved rounds, print the table."""
    results: dict[str, list[tuple[float, float]]] = {label: [] for label in calls}
    load = os.getloadavg()[0]
    with httpx.Client(base_url=base, timeout=30) as client:
        for call in calls.values():
            measure(client, call, pid, args.warmup, 0)
        for round_no in range(args.rounds):
            for label, call in calls.items():
                offset = args.warmup + round_no * args.requests
                results[label].append(measure(client, call, pid, args.requests, offset))
    print(
        f"{args.users:,} users, 1 worker, {args.rounds} rounds x {args.requests} requests, "
        f"pre-ping {'on' if args.pre_ping else 'off'}, load average "
        f"{load:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    baseline = statistics.median(cpu for cpu, _ in results["GET /healthz (baseline)"])
    print(
        f"{'endpoint':38s} {'CPU ms/request min/med/max':>28s} {'x baseline':>10s}"
        f" {'wall ms':>8s}"
    )
    for label, samples in results.items():
        cpu = sorted(c for c, _ in samples)
        wall = statistics.median(w for _, w in samples)
        print(
            f"{label:38s} {cpu[0]:8.2f} {statistics.median(cpu):8.2f} {cpu[-1]:8.2f}"
            f"   {statistics.median(cpu) / baseline:10.1f} {wall:8.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
