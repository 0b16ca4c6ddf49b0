"""Several API instances behind HAProxy under the scale run's mix; one is SIGKILLed mid-run.

1. A private PostgreSQL database (migrated, ``repo_db.bulk_seed`` of ``--users`` users,
   ``--assessments`` published assessments: benchmarks/scale.py's own functions).
2. ``--instances`` API instances (``python -m repo_api``, ``--workers`` each), each its own
   process group, sharing the database and Redis (the log-in throttle), trusting the balancer's
   X-Forwarded-For (``FORWARDED_ALLOW_IPS=127.0.0.1``); the web app and the AI worker; HAProxy
   in front of the instances (``tools/load_balancer.py``: its configuration is printed).
3. Throttling across instances: wrong-password log-ins from one client address (127.0.0.2)
   through the balancer, more than ``--login-limit``: the refusals (429) come from every
   instance; one log-in from another address (127.0.0.3) is not refused.
4. benchmarks/scale_locustfile.py's mix through the balancer: ``--warmup`` seconds (not
   measured), then three phases of ``--phase`` seconds: before, during (the first instance gets
   SIGKILL ``--kill-at`` seconds in; the seconds until HAProxy marks it DOWN are printed) and
   after (the remaining instances).
5. Per endpoint and phase: requests, p99 and errors; per phase HAProxy's retries and
   redispatches and the requests each instance served.

Every server (instances, web, AI worker, HAProxy) is registered with tools/servers.py: stopped
whatever happens; the database is dropped. Exit status 1 if a request failed before the kill or
after it; errors during the kill are reported (writes in flight on the killed instance fail).

    nice -n 10 ./pants run benchmarks/lb.py -- --instances 3
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from benchmarks.api_load import prepare_users
from benchmarks.scale import (
    _ms,
    _start_locust,
    _think_range,
    author_tokens,
    grow_assessments,
    locust_env,
)
from repo_db import get_engine
from repo_db.bulk_seed import bulk_seed
from repo_db.migrate import upgrade
from tools import servers
from tools.load_balancer import HAProxy, child_env, start_api

PHASES = ("before", "during", "after")


def _wait_ready(url: str, proc: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


def throttle_across_instances(lb: HAProxy, limit: int) -> bool:
    """Log-ins over the limit from 127.0.0.2, then one from 127.0.0.3; prints who answered."""

    def client(address: str) -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)

    with client("127.0.0.2") as guesser:
        answers = [
            guesser.post(
                f"{lb.url}/auth/login",
                json={"email": f"nobody{n}@example.org", "password": "wrong-password"},
            )
            for n in range(limit + len(lb.backends) + 1)
        ]
    with client("127.0.0.3") as another:
        other = another.post(
            f"{lb.url}/auth/login",
            json={"email": "nobody@example.org", "password": "wrong-password"},
        )
    seq = " ".join(f"{r.headers.get('x-served-by')}:{r.status_code}" for r in answers)
    refused_by = sorted(
        {r.headers.get("x-served-by", "?") for r in answers if r.status_code == 429}
    )
    statuses = [r.status_code for r in answers]
    shared = statuses == [401] * limit + [429] * (len(answers) - limit)
    print(f"throttle, {limit}/minute per client address, {len(lb.backends)} instances:")
    print(f"  client 127.0.0.2: {seq}")
    print(f"  refused (429) by: {', '.join(refused_by) or 'nobody'}")
    print(
        f"  client 127.0.0.3 afterwards: {other.status_code} ({other.headers.get('x-served-by')})"
    )
    verdict = shared and len(refused_by) == len(lb.backends) and other.status_code == 401
    print(f"  shared across instances: {'yes' if verdict else 'NO'}", flush=True)
    return verdict


def counters(lb: HAProxy) -> dict[str, int]:
    stats = lb.server_stats()
    backend = lb.backend_stats()
    out = {f"req {name}": int(row["stot"] or 0) for name, row in stats.items()}
    for key in ("wretr", "wredis", "hrsp_5xx", "eresp", "econ"):
        out[key] = int(backend.get(key) or 0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--instances", type=int, default=3, help="API instances (default 3)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers per instance")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--assessments", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=200, help="learners with a token")
    parser.add_argument("--clients", type=int, default=16, help="concurrent locust users")
    parser.add_argument("--spawn-rate", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=10, help="seconds, not measured")
    parser.add_argument("--phase", type=int, default=30, help="seconds of each phase")
    parser.add_argument("--kill-at", type=float, default=10.0, help="seconds into 'during'")
    parser.add_argument("--login-limit", type=int, default=5, help="log-ins/minute per address")
    parser.add_argument("--pool-size", type=int, default=5, help="DB_POOL_SIZE per process")
    parser.add_argument("--http-client", choices=("fast", "requests"), default="fast")
    parser.add_argument("--answer-think", type=_think_range, default=(0.5, 2.0))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "REPO_DB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres"
        ),
        help="server admin URL; a private database is created and dropped on it",
    )
    args = parser.parse_args()
    if args.instances < 2:
        parser.error("--instances: at least 2 (one is killed)")
    if not 0 < args.kill_at < args.phase:
        parser.error("--kill-at: between 0 and --phase seconds")

    admin_url = make_url(args.pg_url).set(drivername="postgresql+psycopg")
    name = f"repo_lb_{uuid.uuid4().hex[:8]}"
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    workdir = Path(tempfile.mkdtemp(prefix="lb-"))
    procs: list[subprocess.Popen[Any]] = []
    locusts: list[subprocess.Popen[bytes]] = []
    lb: HAProxy | None = None
    try:
        print(f"database {name}: migrating, seeding {args.users:,} users (COPY)...", flush=True)
        upgrade(get_engine(url))
        bulk_seed(args.users, get_engine(url))
        with get_engine(url).begin() as conn:
            grow_assessments(conn, args.assessments)
        users = prepare_users(url, args.tokens, args.users)
        authors = author_tokens(url, max(1, args.clients // 8))
        with get_engine(url).connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        get_engine(url).dispose()

        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": args.redis_url,
            "API_RATE_LIMIT_KEY_PREFIX": f"lb-bench-{uuid.uuid4().hex[:8]}",
            "API_LOGIN_RATE_PER_ADDRESS": f"{args.login_limit}/minute",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",  # HAProxy connects from there
            "API_LOG_LEVEL": "warning",
            "DB_POOL_SIZE": str(args.pool_size),
            "DB_MAX_OVERFLOW": "0",
            "DB_LOG_QUERIES": "0",
        }
        env.pop("NODE_ENV", None)
        env.pop("APP_ENV", None)
        ports: dict[str, int] = {}
        instances: dict[str, subprocess.Popen[Any]] = {}
        for i in range(1, args.instances + 1):
            iname = f"api{i}"
            ports[iname], instances[iname] = start_api(
                iname, env, workdir / f"{iname}.log", workers=args.workers
            )
            procs.append(instances[iname])
        web_port = servers.free_port()
        web = f"http://127.0.0.1:{web_port}"
        web_log = workdir / "web.log"
        procs.append(
            servers.spawn(
                "web",
                [sys.executable, "-m", "repo_web", "--port", str(web_port)],
                log=web_log,
                env=child_env(env),
            )
        )
        _wait_ready(f"{web}/login", procs[-1], web_log)
        procs.append(
            servers.spawn(
                "ai worker",
                [sys.executable, "-m", "repo_ai", "worker"],
                log=workdir / "ai.log",
                env=child_env(env),
            )
        )
        lb = HAProxy(ports)  # assigned first: `finally` removes its directory whatever happens
        lb.start()
        for iname in ports:
            lb.wait_status(iname, "UP")
        print(f"\nHAProxy {lb.url} ({lb.config_path}):\n{lb.config_path.read_text()}", flush=True)
        shared = throttle_across_instances(lb, args.login_limit)

        run_env = locust_env(env, workdir, users=users, authors=authors, web=web, args=args)
        print(
            f"\nlocust ({args.http_client}): {args.clients} clients through {lb.url} to "
            f"{args.instances} instances x {args.workers} worker(s); phases of {args.phase}s, "
            f"api1 killed {args.kill_at:g}s into 'during'; load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        if args.warmup:
            locusts.append(_start_locust(args, lb.url, run_env, workdir / "warmup", args.warmup))
            locusts[-1].wait()
        results: dict[str, dict[str, dict[str, str]]] = {}
        hap: dict[str, dict[str, int]] = {}
        down_after = None
        for phase in PHASES:
            start = counters(lb)
            locusts.append(_start_locust(args, lb.url, run_env, workdir / phase, args.phase))
            if phase == "during":
                time.sleep(args.kill_at)
                victim = instances["api1"]
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait(timeout=30)
                down_after = lb.wait_status("api1", "DOWN")
                print(f"api1 SIGKILLed; HAProxy marked it DOWN after {down_after:.2f}s", flush=True)
            locusts[-1].wait()
            end = counters(lb)
            hap[phase] = {k: end.get(k, 0) - start.get(k, 0) for k in end}
            stats_file = workdir / f"{phase}_stats.csv"
            if not stats_file.is_file():
                raise SystemExit(
                    f"locust wrote no stats:\n{Path(f'{workdir / phase}.log').read_text()[-3000:]}"
                )
            results[phase] = {r["Name"]: r for r in csv.DictReader(stats_file.open())}
            agg = results[phase]["Aggregated"]
            print(
                f"{phase}: {agg['Request Count']} requests, {float(agg['Requests/s']):.1f}/s, "
                f"p99 {agg['99%']} ms, {agg['Failure Count']} failed; load average "
                f"{os.getloadavg()[0]:.2f}",
                flush=True,
            )

        header = f"{'endpoint':44}" + "".join(f" {phase + ' n/p99/err':>22}" for phase in PHASES)
        print(f"\nper endpoint through the balancer (requests / p99 ms / errors):\n{header}")
        print("-" * len(header))
        names = [n for n in results["before"] if n != "Aggregated"] + ["Aggregated"]
        for endpoint in names:
            cells = []
            for phase in PHASES:
                row = results[phase].get(endpoint)
                cells.append(
                    f"{row['Request Count']}/{_ms(row['99%']):.0f}/{row['Failure Count']}"
                    if row
                    else "-"
                )
            label = "ALL endpoints" if endpoint == "Aggregated" else endpoint
            print(f"{label[:44]:44}" + "".join(f" {c:>22}" for c in cells))
        print("\nHAProxy per phase (requests per instance; retries, redispatches, 5xx sent):")
        for phase in PHASES:
            print(f"  {phase:7} " + ", ".join(f"{k} {v}" for k, v in hap[phase].items()))
        for phase in PHASES:
            failures = workdir / f"{phase}_failures.csv"
            if failures.is_file() and len(failures.read_text().splitlines()) > 1:
                print(f"\nfailures {phase}:\n{failures.read_text()[:2000]}")
        errors = {p: int(results[p]["Aggregated"]["Failure Count"]) for p in PHASES}
        p99 = {p: _ms(results[p]["Aggregated"]["99%"]) for p in PHASES}
        print(
            f"p99 all endpoints vs before the kill (same run): during "
            f"{p99['during'] / p99['before']:.2f}x, after {p99['after'] / p99['before']:.2f}x"
        )
        print(
            f"\nerrors before/during/after: {errors['before']}/{errors['during']}/"
            f"{errors['after']}; DOWN after {down_after:.2f}s; throttle shared: "
            f"{'yes' if shared else 'NO'}"
        )
        return 0 if shared and errors["before"] == errors["after"] == 0 else 1
    finally:
        for locust in locusts:
            if locust.poll() is None:
                locust.kill()
                locust.wait()
        if lb is not None:
            lb.close()
        for proc in reversed(procs):
            servers.stop_process(proc)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
