"""Load benchmark of the HTTP API on PostgreSQL with N seeded users (default 100k).

Seeds a private database with repo_db's bulk seeder, serves `python -m repo_api` with several
uvicorn workers on loopback, then drives it with `wrk` (apt-get install -y wrk):

* GET /_bench/baseline  - same framework, pool and session, one `SELECT 1` (the floor)
* GET /users/me         - token lookup + user row
* GET /assessments      - catalogue page 1, and a deep keyset page
* GET /admin/users      - a deep page of the 100k-user list (after=N-50)
* PUT /attempts/{id}/responses/{qid} - idempotent save (the same body every time)

Prints requests/s, p50 and p99 latency and the throughput ratio to the baseline.

    PYTHONPATH=packages/db/src:apps/api/src python benchmarks/api_load.py --users 100000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from repo_db import get_engine, unit_of_work
from repo_db.bulk_seed import SEED_PASSWORD, bulk_seed, seed_email
from repo_db.migrate import upgrade
from repo_db.models import User

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", value)
    if not match:
        return float("nan")
    number, unit = float(match.group(1)), match.group(2)
    return number / 1000 if unit == "us" else number * 1000 if unit == "s" else number


def run_wrk(name: str, url: str, args: argparse.Namespace, extra: list[str]) -> Run:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    cmd += ["--latency", *extra, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    err = f"non-2xx={errors.group(1)}" if errors else ""
    err += f" socket: {socket_errors.group(1)}" if socket_errors else ""
    return Run(name, rps, p50, p99, err.strip() or "-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "REPO_DB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres"
        ),
        help="server admin URL; a private database is created and dropped on it",
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    os.environ.setdefault("DB_LOG_QUERIES", "0")  # repo_db logs every statement in development
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2

    admin_url = make_url(args.pg_url).set(drivername="postgresql+psycopg")
    name = f"repo_api_bench_{uuid.uuid4().hex[:8]}"
    db_url = admin_url.set(database=name)
    admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    server: subprocess.Popen[bytes] | None = None
    try:
        url_text = db_url.render_as_string(hide_password=False)
        engine = get_engine(url_text)
        started = time.perf_counter()
        upgrade(engine)
        summary = bulk_seed(args.users, engine)
        print(f"seeded {summary.created} in {time.perf_counter() - started:.1f}s", flush=True)
        with unit_of_work(bind=engine) as session:  # one admin for the user-list endpoint
            session.execute(update(User).where(User.email == seed_email(1)).values(role="admin"))
        engine.dispose()

        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url_text,
            "API_BENCH_ENDPOINTS": "1",
            "API_LOG_LEVEL": "warning",
            "DB_POOL_SIZE": "10",
            "DB_LOG_QUERIES": "0",
        }
        env.pop("NODE_ENV", None)
        env.pop("APP_ENV", None)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "repo_api",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--no-seed",
                "--no-migrate",
                "--log-level",
                "warning",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("API did not become ready")
            time.sleep(0.3)

        http = httpx.Client(base_url=base, timeout=30)
        token = http.post(
            "/auth/login", json={"email": seed_email(1), "password": SEED_PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        first = http.get("/assessments", params={"limit": 100}, headers=auth).json()["items"]
        ids = [a["id"] for a in first]
        assessment = http.get(f"/assessments/{ids[0]}", headers=auth).json()
        attempt = http.post(f"/assessments/{ids[0]}/attempts", headers=auth).json()
        numeric = next(q for q in assessment["questions"] if q["kind"] == "numeric")
        put_path = f"/attempts/{attempt['id']}/responses/{numeric['id']}"
        put_body = json.dumps({"numeric_value": 3.0})
        assert http.put(
            put_path, content=put_body, headers={**auth, "Content-Type": "application/json"}
        ).is_success

        header = ["-H", f"Authorization: Bearer {token}"]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(
                'wrk.method = "PUT"\n'
                f"wrk.body = '{put_body}'\n"
                'wrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {token}"\n'
            )
        runs = [
            run_wrk("baseline SELECT 1", f"{base}/_bench/baseline", args, []),
            run_wrk("GET /users/me", f"{base}/users/me", args, header),
            run_wrk("GET /assessments (page 1)", f"{base}/assessments?limit=20", args, header),
            run_wrk(
                "GET /assessments (deep page)",
                f"{base}/assessments?limit=20&after={ids[-1] - 20}",
                args,
                header,
            ),
            run_wrk(
                "GET /admin/users (deep page)",
                f"{base}/admin/users?limit=20&after={max(1, args.users - 50)}",
                args,
                header,
            ),
            run_wrk("PUT save response", f"{base}{put_path}", args, ["-s", lua.name]),
        ]
        os.unlink(lua.name)
        baseline = runs[0].rps
        print(
            f"\nusers={args.users} workers={args.workers} wrk -t{args.threads} "
            f"-c{args.connections} -d{args.duration}s  (cpus={os.cpu_count()})"
        )
        print(f"{'endpoint':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs base':>8}  errors")
        for r in runs:
            print(
                f"{r.name:32} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
                f"{r.rps / baseline:8.2f}  {r.errors}"
            )
        return 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
