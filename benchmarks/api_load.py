"""Load benchmark of the HTTP API on PostgreSQL with N seeded users (default 100k).

Seeds a private database with repo_db's bulk seeder, serves ``python -m repo_api`` with several
uvicorn workers on loopback, and drives it with ``wrk`` (apt-get install -y wrk):

* GET /healthz            - no database (the framework's floor)
* GET /_bench/baseline    - same framework, pool and session as real routes, one ``SELECT 1``
* GET /users/me           - token lookup + user row
* GET /assessments        - catalogue page 1, and the LAST keyset page of the catalogue
* GET /admin/users        - a deep page of the N-user list (after = N - 50)
* PUT /attempts/{id}/responses/{qid} - every request a new numeric answer on the caller's own
  in-progress attempt (a real UPDATE, one row per learner, no shared row lock)

Fairness rules: every request carries one of ``--tokens`` different users' tokens (round-robin in
wrk's Lua); every measured sample is preceded by a warm-up of the same endpoint; the endpoints,
baseline included, are measured in ``--rounds`` interleaved rounds (order rotated every round),
so each figure is min/median/max of ``--rounds`` samples and each ratio is taken within a round.
Non-2xx answers and socket errors (connect/read/write/timeout) are counted per sample and
printed next to every throughput; they must be 0 (exit status 1 otherwise). The machine's load
average is printed before and after each sample. Numbers only: nothing here asserts a timing.

    PYTHONPATH=packages/db/src:packages/domain/src:apps/api/src python benchmarks/api_load.py
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from repo_db import get_engine, unit_of_work
from repo_db.bulk_seed import bulk_seed, seed_email
from repo_db.migrate import upgrade
from repo_db.models import Assessment, AuthToken, Question, Role, User
from repo_db.models.base import utcnow
from repo_domain import attempts
from repo_domain.common import Actor
from repo_domain.tokens import hash_token, new_token

WRK_TIMEOUT_S = 2  # wrk's default: slower answers are counted as timeouts (socket errors)


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    load_before: float
    load_after: float


@dataclass
class Endpoint:
    name: str
    path: str
    method: str = "GET"
    samples: list[Sample] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)\b", value)
    if not match:
        return float("nan")
    number, unit = float(match.group(1)), match.group(2)
    return {"us": number / 1000, "ms": number, "s": number * 1000, "m": number * 60_000}[unit]


LUA = r"""
-- Round-robin over the users in TABLE (one line each: token<TAB>path); PUT bodies carry a
-- counter so every save writes a new value.
local lines = {}
for line in io.lines("%(table)s") do
  local token, path = line:match("([^\t]+)\t([^\t]+)")
  lines[#lines + 1] = {token, path}
end
local method = "%(method)s"
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("start_at", threads * 7919)  -- each wrk thread starts at another user
end
function init(args)
  counter = start_at or 0
end
function request()
  counter = counter + 1
  local entry = lines[(counter %% #lines) + 1]
  local headers = {["Authorization"] = "Bearer " .. entry[1]}
  local body = nil
  if method == "PUT" then
    headers["Content-Type"] = "application/json"
    body = string.format('{"numeric_value": %%d}', counter)
  end
  return wrk.format(method, entry[2], headers, body)
end
"""


def wrk(
    base: str, ep: Endpoint, table: Path, seconds: int, args: argparse.Namespace, workdir: Path
) -> Sample:
    script = workdir / f"{uuid.uuid4().hex}.lua"
    script.write_text(LUA % {"table": table, "method": ep.method})
    cmd = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s"]
    cmd += [f"--timeout={WRK_TIMEOUT_S}s", "--latency", "-s", str(script), base]
    load_before = os.getloadavg()[0]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    load_after = os.getloadavg()[0]
    script.unlink()

    def grab(pattern: str) -> str:
        match = re.search(pattern, out)
        if not match:
            raise SystemExit(f"unexpected wrk output:\n{out}")
        return match.group(1)

    socket_errors = 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if match:
        socket_errors = sum(int(g) for g in match.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Sample(
        rps=float(grab(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(grab(r"(?m)^\s+50%\s+(\S+)")),
        p99_ms=_ms(grab(r"(?m)^\s+99%\s+(\S+)")),
        requests=int(grab(r"(\d+) requests in")),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
        load_before=load_before,
        load_after=load_after,
    )


def prepare_users(engine_url: str, n_tokens: int, n_users: int) -> dict[str, list[str]]:
    """Tokens for n_tokens learners (each with their own in-progress attempt) and one admin.

    Tokens are issued the way ``repo_domain.accounts.login`` issues them (a random token, its
    SHA-256 stored) without paying one Argon2 verification per user.
    """
    engine = get_engine(engine_url)
    now = utcnow()
    out: dict[str, list[str]] = {"learner": [], "put": [], "admin": []}
    with unit_of_work(bind=engine) as session:
        session.execute(update(User).where(User.email == seed_email(1)).values(role="admin"))
        admin_id = session.scalar(select(User.id).where(User.email == seed_email(1)))
        assert admin_id is not None, "seed user 1 is missing"
        assessments = list(
            session.scalars(
                select(Assessment.id)
                .where(Assessment.status == "published")
                .order_by(Assessment.id)
            )
        )
        numeric = dict(
            session.execute(
                select(Question.assessment_id, Question.id)
                .where(Question.kind == "numeric")
                .order_by(Question.id.desc())
            )
            .tuples()
            .all()
        )
        learners = list(
            session.scalars(
                select(User.id)
                .where(User.role == "learner", User.id != admin_id)
                .order_by(User.id)
                .limit(n_tokens)
            )
        )
        ttl = timedelta(days=1)
        for user_id in [admin_id, *learners]:
            token = new_token()
            session.add(
                AuthToken(
                    user_id=user_id,
                    token_hash=hash_token(token),
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
            if user_id == admin_id:
                out["admin"].append(token)
                continue
            out["learner"].append(token)
            assessment_id = assessments[len(out["put"]) % len(assessments)]
            attempt, _ = attempts.start_attempt(
                session, actor=Actor(id=user_id, role=Role.LEARNER), assessment_id=assessment_id
            )
            out["put"].append(f"{token}\t/attempts/{attempt.id}/responses/{numeric[assessment_id]}")
    return {
        **out,
        "catalogue_ids": [str(a) for a in assessments],
    }


@dataclass
class Variant:
    """One server configuration: extra environment, and optionally its own worker or wrk
    thread count (pseudo-variables WORKERS and WRK_THREADS)."""

    name: str
    env: dict[str, str]
    base: str = ""
    log: Path | None = None

    def describe(self, args: argparse.Namespace) -> str:
        workers = self.env.get("WORKERS", str(args.workers))
        wrk_threads = self.env.get("WRK_THREADS", str(args.wrk_threads))
        extra = " ".join(
            f"{k}={v}" for k, v in self.env.items() if k not in {"WORKERS", "WRK_THREADS"}
        )
        return f"workers={workers} wrk_threads={wrk_threads} pool={args.pool_size} " + (
            extra or f"pre_ping={args.pre_ping} slow_query_ms={args.slow_query_ms}"
        )

    def wrk_args(self, args: argparse.Namespace) -> argparse.Namespace:
        if "WRK_THREADS" not in self.env:
            return args
        return argparse.Namespace(**{**vars(args), "wrk_threads": int(self.env["WRK_THREADS"])})


def parse_variants(specs: list[str] | None) -> list[Variant]:
    """``NAME`` or ``NAME:VAR=VALUE,VAR=VALUE``; the first is the reference."""
    out = []
    for spec in specs or ["default"]:
        name, _, rest = spec.partition(":")
        env = dict(item.split("=", 1) for item in rest.split(",") if item)
        out.append(Variant(name, env))
    return out


def start_server(
    variant: Variant, base_env: dict[str, str], args: argparse.Namespace, workdir: Path
) -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    env = {
        **base_env,
        **{k: v for k, v in variant.env.items() if k not in {"WORKERS", "WRK_THREADS"}},
    }
    variant.log = workdir / f"server-{variant.name}.log"
    with variant.log.open("wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "repo_api",
                "--port",
                str(port),
                "--workers",
                variant.env.get("WORKERS", str(args.workers)),
                "--no-seed",
                "--no-migrate",
                "--log-level",
                env["API_LOG_LEVEL"],
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return base, server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit(f"API did not become ready:\n{variant.log.read_text()[-3000:]}")
        time.sleep(0.3)


def summary(values: list[float], fmt: str = "{:.0f}") -> str:
    return "/".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def tear_down(
    procs: list[subprocess.Popen[bytes]], admin: Engine, drop: str | None, workdir: Path
) -> None:
    """Stop the processes (SIGTERM, SIGKILL after 15 s), drop database ``drop``, remove workdir."""
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    if drop:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
    admin.dispose()
    shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured sample")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per sample")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved samples per figure")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=200, help="distinct users' tokens")
    parser.add_argument("--pool-size", type=int, default=10, help="DB_POOL_SIZE per worker")
    parser.add_argument(
        "--pre-ping", action=argparse.BooleanOptionalAction, default=True, help="DB_POOL_PRE_PING"
    )
    parser.add_argument(
        "--slow-query-ms", type=float, default=200.0, help="DB_SLOW_QUERY_MS (0: off)"
    )
    parser.add_argument("--log-level", default="warning", help="API log level")
    parser.add_argument(
        "--only", nargs="*", help="endpoint names to measure (substring match); baseline always"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "REPO_DB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres"
        ),
        help="server admin URL; a private database is created and dropped on it",
    )
    parser.add_argument(
        "--variant",
        action="append",
        metavar="NAME[:VAR=VALUE,...]",
        help="server configurations to compare, interleaved (one server each, same database); "
        "VAR is an environment variable of the API (e.g. DB_POOL_PRE_PING=false) or WORKERS / "
        "WRK_THREADS; default: one variant from the flags above",
    )
    default_log = sorted(Path("/var/log/postgresql").glob("postgresql-*-main.log"))
    parser.add_argument(
        "--pg-log",
        default=str(default_log[-1]) if default_log else None,
        help="PostgreSQL's log, to count the statements the server itself timed as slow",
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
    servers: list[subprocess.Popen[bytes]] = []
    workdir = Path(tempfile.mkdtemp(prefix="api-load-"))
    try:
        url_text = db_url.render_as_string(hide_password=False)
        started = time.perf_counter()
        upgrade(get_engine(url_text))
        seeded = bulk_seed(args.users, get_engine(url_text))
        print(f"seeded {seeded.created} in {time.perf_counter() - started:.1f}s", flush=True)
        users = prepare_users(url_text, args.tokens, args.users)
        with get_engine(url_text).connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        if args.slow_query_ms > 0:
            # PostgreSQL logs its own view of the slow statements: set against the client-side
            # slow-query warnings, it tells server time from time lost in the API process.
            with admin.connect() as conn:
                conn.execute(
                    text(
                        f'ALTER DATABASE "{name}" SET log_min_duration_statement = '
                        f"{int(args.slow_query_ms)}"
                    )
                )
        pg_log = Path(args.pg_log) if args.pg_log else None
        pg_log_offset = pg_log.stat().st_size if pg_log and pg_log.is_file() else 0
        get_engine(url_text).dispose()

        base_env = {
            **os.environ,
            "DATABASE_URL": url_text,
            "API_BENCH_ENDPOINTS": "1",
            "API_LOG_LEVEL": args.log_level,
            "DB_POOL_SIZE": str(args.pool_size),
            "DB_POOL_PRE_PING": "true" if args.pre_ping else "false",
            "DB_SLOW_QUERY_MS": str(args.slow_query_ms),
            "DB_LOG_QUERIES": "0",
        }
        base_env.pop("NODE_ENV", None)
        base_env.pop("APP_ENV", None)
        variants = parse_variants(args.variant)
        for variant in variants:  # one server per variant, all on the same database
            variant.base, proc = start_server(variant, base_env, args, workdir)
            servers.append(proc)
        base = variants[0].base

        # The catalogue's LAST keyset page: walk it once to find the real `after`.
        catalogue = [int(i) for i in users["catalogue_ids"]]
        last_after = catalogue[-21] if len(catalogue) > 20 else 0
        tables: dict[str, Path] = {}

        def table(key: str, lines: list[str]) -> Path:
            path = workdir / f"{key}.tsv"
            path.write_text("\n".join(lines) + "\n")
            tables[key] = path
            return path

        learner_paths = {
            "me": "/users/me",
            "page1": "/assessments?limit=20",
            "last": f"/assessments?limit=20&after={last_after}",
            "base": "/_bench/baseline",
            "health": "/healthz",
        }
        for key, path in learner_paths.items():
            table(key, [f"{t}\t{path}" for t in users["learner"]])
        table("admin", [f"{users['admin'][0]}\t/admin/users?limit=20&after={args.users - 50}"])
        table("put", users["put"])
        endpoints = {
            "baseline": Endpoint("baseline SELECT 1", "base"),
            "healthz": Endpoint("GET /healthz (no db)", "health"),
            "me": Endpoint("GET /users/me", "me"),
            "page1": Endpoint("GET /assessments page 1", "page1"),
            "last": Endpoint(f"GET /assessments last page ({len(catalogue)})", "last"),
            "admin": Endpoint("GET /admin/users deep page", "admin"),
            "put": Endpoint("PUT save response (own rows)", "put", method="PUT"),
        }
        if args.only:
            endpoints = {k: e for k, e in endpoints.items() if k == "baseline" or k in args.only}
        for key, tsv in tables.items():  # every token path answers 2xx before we measure
            token, url_path = tsv.read_text().splitlines()[0].split("\t")
            method = "PUT" if key == "put" else "GET"
            r = httpx.request(
                method,
                base + url_path,
                headers={"Authorization": f"Bearer {token}"},
                json={"numeric_value": 1} if method == "PUT" else None,
            )
            if not r.is_success:
                raise SystemExit(f"{method} {url_path} answered {r.status_code}: {r.text[:300]}")

        order = [(v, key) for key in endpoints for v in variants]
        samples: dict[tuple[str, str], list[Sample]] = {(v.name, k): [] for v, k in order}
        print(
            f"users={args.users} wrk -t{args.wrk_threads} -c{args.connections} warm-up "
            f"{args.warmup}s + {args.duration}s x {args.rounds} rounds, "
            f"tokens={len(users['learner'])}, cpus={os.cpu_count()}; variants: "
            + "; ".join(f"{v.name} [{v.describe(args)}]" for v in variants),
            flush=True,
        )
        for rnd in range(args.rounds):
            shift = rnd % len(order)
            for variant, key in order[shift:] + order[:shift]:
                ep = endpoints[key]
                table_path = tables[ep.path]
                wrk(variant.base, ep, table_path, args.warmup, variant.wrk_args(args), workdir)
                sample = wrk(
                    variant.base, ep, table_path, args.duration, variant.wrk_args(args), workdir
                )
                samples[(variant.name, key)].append(sample)
                print(
                    f"  round {rnd + 1} {variant.name:>8} {ep.name:34} {sample.rps:8.0f} req/s "
                    f"p50 {sample.p50_ms:7.2f} p99 {sample.p99_ms:8.2f} ms errors "
                    f"{sample.non_2xx + sample.socket_errors} load {sample.load_before:.2f}->"
                    f"{sample.load_after:.2f}",
                    flush=True,
                )

        print(
            "\nmin/median/max over rounds; 'x baseline' = req/s / baseline req/s of the same "
            "round and variant; errors = non-2xx + socket errors (incl. timeouts > 2 s), summed; "
            "must be 0"
        )
        header = (
            f"{'variant':>8} {'endpoint':36} {'req/s':>17} {'p50 ms':>17} {'p99 ms':>20} "
            f"{'x baseline':>16} {'errors':>7} {'load avg':>12}"
        )
        print(header)
        print("-" * len(header))
        total_errors = 0
        for variant in variants:
            base_rps = [x.rps for x in samples[(variant.name, "baseline")]]
            for key, ep in endpoints.items():
                s = samples[(variant.name, key)]
                errors = sum(x.non_2xx + x.socket_errors for x in s)
                total_errors += errors
                ratios = [x.rps / b for x, b in zip(s, base_rps, strict=True)]
                loads = [x.load_before for x in s] + [x.load_after for x in s]
                print(
                    f"{variant.name:>8} {ep.name:36} {summary([x.rps for x in s]):>17} "
                    f"{summary([x.p50_ms for x in s], '{:.1f}'):>17} "
                    f"{summary([x.p99_ms for x in s], '{:.0f}'):>20} "
                    f"{summary(ratios, '{:.2f}'):>16} {errors:>7} "
                    f"{min(loads):5.2f}-{max(loads):<5.2f}"
                )
        for variant in variants:
            log = variant.log.read_text(errors="replace") if variant.log else ""
            print(
                f"slow-query warnings in the {variant.name} server log: "
                f"{log.count('db.slow_query')}"
            )
        if pg_log and pg_log.is_file():
            with pg_log.open("rb") as f:
                f.seek(pg_log_offset)
                server_slow = sum(
                    1 for line in f if f"@{name} ".encode() in line and b"duration:" in line
                )
            print(
                f"statements >= {args.slow_query_ms:.0f} ms as timed by PostgreSQL itself "
                f"({pg_log}): {server_slow}"
            )
        print(
            f"errors in all: {total_errors} "
            f"(0 required: {'met' if total_errors == 0 else 'MISSED'})"
        )
        return 0 if total_errors == 0 else 1
    finally:
        tear_down(servers, admin, None if args.keep else name, workdir)


if __name__ == "__main__":
    sys.exit(main())
