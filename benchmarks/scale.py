"""Scale run (issue 11): a 100,000-user PostgreSQL data set under a mixed load on loopback.

1. Creates a private PostgreSQL database, migrates it, seeds ``--users`` users with
   ``repo_db.bulk_seed`` (binary COPY), then grows it server-side (INSERT ... SELECT) to
   ``--assessments`` published assessments and ``--responses`` submitted responses (extra graded
   attempts of other learners, their responses and results copied from the seeded ones).
2. Starts the API (``python -m repo_api``, ``--workers`` processes), the web app
   (``python -m repo_web``) and the AI worker (``python -m repo_ai worker``) as real processes.
3. Runs locust headless for ``--warmup`` seconds (not measured), then for ``--duration`` seconds
   with ``--clients`` users and think time, between tasks and before each answer
   (``--answer-think``; benchmarks/scale_locustfile.py): learners browse the catalogue and
   take, answer and submit their own attempts (real writes on their own rows; free text goes to
   the AI worker), authors edit their own drafts, admins search users and open statistics,
   anonymous web pages.
4. Prints requests/s and p50/p95/p99 per endpoint, error counts, the CPU seconds and CPU-ms per
   request of each process group during the load (locust, API workers, web, AI worker, this
   database's PostgreSQL backends, PgBouncer; from /proc), the database size, the slowest
   statements as timed by PostgreSQL (its log, ``log_min_duration_statement`` set on the private
   database), and EXPLAIN (ANALYZE) of the hot paths, flagging any sequential scan.

``--pgbouncer`` puts the apps' database URL on PgBouncer in transaction mode (migrations and COPY
stay on the direct URL); the output names the path used.

``--replica`` (issue 19) runs on a private primary and a streaming hot standby
(``repo_db.standby_pair``, ``pg_basebackup -R``) instead of ``--pg-url``, and measures twice on the
same data: the apps on the primary alone, then restarted with DATABASE_READ_URL on the standby
(REDIS_URL shares read-your-writes positions between the processes; throttling stays in memory as
in the first phase). It prints both phases' p99 per endpoint side by side and the share of SELECT
statements the standby served (pg_stat_statements on both servers, the routing probes left out;
SELECTs inside writing units count on the primary's side).

Exit status 1 if any request failed. Targets (issue 11): 0 errors at 64 clients, p99 < 250 ms
for reads and < 500 ms for writes; the verdict is printed, never asserted.

    ./pants run benchmarks/scale.py                  # full scale (the defaults), direct
    ./pants run benchmarks/scale.py -- --pgbouncer   # the same through PgBouncer on 6432
    ./pants run benchmarks/scale.py -- --replica ...  # small enough for 2 cores: docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from benchmarks.api_load import Variant, _free_port, prepare_users, start_server, tear_down
from benchmarks.cpu_account import CpuAccount
from benchmarks.cpu_account import report as cpu_report
from repo_db import get_engine, unit_of_work
from repo_db.bulk_seed import bulk_seed
from repo_db.migrate import upgrade
from repo_db.models import AuthToken, User, metadata
from repo_db.models.base import utcnow
from repo_db.standby_pair import StandbyPair
from repo_domain.search import user_page_statement
from repo_domain.tokens import hash_token, new_token

LOCUSTFILE = Path(__file__).with_name("scale_locustfile.py")
PGBOUNCER_URL = "postgresql://postgres@127.0.0.1:6432/postgres"
# `./pants run` runs this file from a sandbox: the start script is found from the repo root.
PGBOUNCER_START = Path("tools") / "pgbouncer" / "start"
PG_BACKGROUND = re.compile(
    r"^postgres: \S+: (checkpointer|background writer|walwriter|autovacuum|logical replication)"
)
READ_P99_MS = 250.0
#: --replica: statement statistics on both servers, for the share of reads the standby served.
REPLICA_CONF = "shared_preload_libraries = 'pg_stat_statements'\n"
#: SELECT statements of the apps (not repo_db's routing probes) in pg_stat_statements.
_SELECTS_SQL = text(
    "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s "
    "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() "
    "AND s.query ~* '^\\s*select' "
    "AND s.query !~ 'pg_is_in_recovery|pg_current_wal_lsn|pg_last_wal|pg_stat_statements'"
)
WRITE_P99_MS = 500.0


def _columns(table: str, skip: set[str]) -> list[str]:
    return [c.name for c in metadata.tables[table].c if c.name not in skip]


def grow_assessments(conn: Connection, target: int) -> int:
    """Copy the first seeded assessment (questions and options too) until ``target`` exist."""
    have = conn.scalar(text("SELECT count(*) FROM assessments WHERE status = 'published'")) or 0
    extra = max(0, target - have)
    if not extra:
        return 0
    a_cols = _columns("assessments", {"id", "title"})
    q_cols = _columns("questions", {"id", "assessment_id"})
    o_cols = _columns("answer_options", {"id", "question_id"})
    template = conn.scalar(text("SELECT min(id) FROM assessments WHERE status = 'published'"))
    conn.execute(
        text(
            f"INSERT INTO assessments (title, {', '.join(a_cols)}) "
            f"SELECT 'Scale assessment ' || g, {', '.join('a.' + c for c in a_cols)} "
            "FROM generate_series(1, :extra) g, assessments a WHERE a.id = :t"
        ),
        {"extra": extra, "t": template},
    )
    conn.execute(
        text(
            f"INSERT INTO questions (assessment_id, {', '.join(q_cols)}) "
            f"SELECT a.id, {', '.join('q.' + c for c in q_cols)} FROM assessments a "
            "JOIN questions q ON q.assessment_id = :t WHERE a.title LIKE 'Scale assessment %'"
        ),
        {"t": template},
    )
    conn.execute(
        text(
            f"INSERT INTO answer_options (question_id, {', '.join(o_cols)}) "
            f"SELECT nq.id, {', '.join('o.' + c for c in o_cols)} FROM assessments a "
            "JOIN questions nq ON nq.assessment_id = a.id "
            "JOIN questions tq ON tq.assessment_id = :t AND tq.position = nq.position "
            "JOIN answer_options o ON o.question_id = tq.id "
            "WHERE a.title LIKE 'Scale assessment %'"
        ),
        {"t": template},
    )
    return extra


def grow_responses(conn: Connection, target: int) -> int:
    """Add graded attempts (another learner, another assessment) until ``target`` responses.

    Each round copies every seeded attempt once: the copy belongs to the learner of the attempt
    ``k`` places further on and points at the assessment ``k`` places further on; its responses
    are the source's, mapped to the new assessment's questions by position. One statement per
    round (data-modifying CTEs), all on the server.
    """
    added = 0
    base_max = conn.scalar(text("SELECT max(id) FROM attempts")) or 0
    assessments = list(
        conn.scalars(text("SELECT id FROM assessments WHERE status = 'published' ORDER BY id"))
    )
    att_cols = _columns("attempts", {"id", "user_id", "assessment_id"})
    r_cols = _columns("responses", {"id", "attempt_id", "question_id"})
    res_cols = _columns("results", {"id", "attempt_id", "user_id", "assessment_id"})
    k = 0
    while True:
        have = conn.scalar(text("SELECT count(*) FROM responses")) or 0
        if have >= target:
            return added
        k += 1
        conn.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS scale_assessments "
                "(n int PRIMARY KEY, id bigint); TRUNCATE scale_assessments"
            )
        )
        conn.execute(
            text(
                "INSERT INTO scale_assessments SELECT n - 1, id FROM unnest(:ids) "
                "WITH ORDINALITY AS t(id, n)"
            ),
            {"ids": assessments},
        )
        # Fresh statistics each round: with the seed's (or none), the planner expects a few
        # rows and joins every copied attempt with every question (a 10,000 x 1,600 sort).
        conn.execute(text("ANALYZE attempts, results, responses, questions, scale_assessments"))
        conn.execute(
            text(
                "WITH src AS ("
                "  SELECT s.id AS old_id, nextval(pg_get_serial_sequence('attempts', 'id'))"
                "  AS new_id, u.user_id, sa.id AS assessment_id"
                "  FROM attempts s"
                "  JOIN attempts u ON u.id = (s.id + :k - 1) % :base + 1"
                "  JOIN scale_assessments sa ON sa.n = (s.id + :k) % :na"
                "  WHERE s.id <= :base),"
                " att AS ("
                f"  INSERT INTO attempts (id, user_id, assessment_id, {', '.join(att_cols)})"
                f"  SELECT src.new_id, src.user_id, src.assessment_id,"
                f"  {', '.join('s.' + c for c in att_cols)}"
                "  FROM src JOIN attempts s ON s.id = src.old_id),"
                " res AS ("
                f"  INSERT INTO results (attempt_id, user_id, assessment_id, {', '.join(res_cols)})"
                f"  SELECT src.new_id, src.user_id, src.assessment_id,"
                f"  {', '.join('r.' + c for c in res_cols)}"
                "  FROM src JOIN results r ON r.attempt_id = src.old_id)"
                f" INSERT INTO responses (attempt_id, question_id, {', '.join(r_cols)})"
                f" SELECT src.new_id, nq.id, {', '.join('r.' + c for c in r_cols)}"
                " FROM src JOIN responses r ON r.attempt_id = src.old_id"
                " JOIN questions oq ON oq.id = r.question_id"
                " JOIN questions nq ON nq.assessment_id = src.assessment_id"
                "  AND nq.position = oq.position"
            ),
            {"k": k, "base": base_max, "na": len(assessments)},
        )
        now = conn.scalar(text("SELECT count(*) FROM responses")) or 0
        added += now - have
        print(f"  round {k}: responses now {now:,}", flush=True)


def pooled_env(direct_url: str, pooler: str) -> dict[str, str]:
    """The apps' database environment through PgBouncer: same database on the pooler's address,
    declared pooled (no server-side prepared statements), DDL and COPY on the direct URL."""
    port = make_url(pooler).port or 6432
    start = next(
        (
            root / PGBOUNCER_START
            for root in (Path.cwd(), *Path(__file__).parents)
            if (root / PGBOUNCER_START).is_file()
        ),
        None,
    )
    if start is None:
        raise SystemExit(f"--pgbouncer: {PGBOUNCER_START} not found (run from the repo root)")
    subprocess.run([str(start), "--port", str(port)], check=True, capture_output=True)
    direct = make_url(direct_url)
    pooled = direct.set(host=make_url(pooler).host, port=port)
    return {
        "DATABASE_URL": pooled.render_as_string(hide_password=False),
        "DATABASE_POOLED": "true",
        "DATABASE_DIRECT_URL": direct_url,
    }


def author_tokens(url: str, n: int) -> list[str]:
    """Tokens for ``n`` seeded authors (issued like login does, without Argon2 per user)."""
    now = utcnow()
    out = []
    with unit_of_work(bind=get_engine(url)) as session:
        for user_id in session.scalars(
            select(User.id).where(User.role == "author").order_by(User.id).limit(n)
        ):
            token = new_token()
            session.add(
                AuthToken(
                    user_id=user_id,
                    token_hash=hash_token(token),
                    created_at=now,
                    expires_at=now + timedelta(days=1),
                )
            )
            out.append(token)
    return out


def start_process(
    argv: list[str], env: dict[str, str], log: Path, ready_url: str | None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while ready_url:
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit(f"{argv} did not become ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    return proc


def slowest_statements(pg_log: Path, offset: int, dbname: str, top: int) -> list[str]:
    """Aggregate PostgreSQL's ``duration: ... statement:`` lines of our database."""
    stats: dict[str, list[float]] = defaultdict(list)
    pattern = re.compile(r"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*): (.*)")
    with pg_log.open("rb") as f:
        f.seek(offset)
        for raw in f:
            line = raw.decode(errors="replace")
            if f"@{dbname} " not in line and f"db={dbname}" not in line:
                continue
            match = pattern.search(line)
            if match:
                sql = re.sub(r"\s+", " ", match.group(2))[:140]
                stats[sql].append(float(match.group(1)))
    rows = sorted(stats.items(), key=lambda kv: -sum(kv[1]))[:top]
    return [f"{len(v):6} x max {max(v):8.1f} ms total {sum(v):9.0f} ms  {sql}" for sql, v in rows]


HOT_PATHS = {
    "catalogue page 1": (
        "SELECT id, title FROM assessments WHERE status = 'published' ORDER BY id LIMIT 21"
    ),
    "token lookup": "SELECT * FROM auth_tokens WHERE token_hash = :h",
    "learner history": "SELECT * FROM attempts WHERE user_id = :u ORDER BY id LIMIT 21",
    "attempt responses": "SELECT * FROM responses WHERE attempt_id = :a",
    "in-progress attempt": (
        "SELECT id FROM attempts WHERE user_id = :u AND assessment_id = :x "
        "AND status = 'in_progress'"
    ),
    "assessment stats": ("SELECT count(*), avg(percent) FROM results WHERE assessment_id = :x"),
    "assessment stats per question": (
        "SELECT r.question_id, count(r.id), avg(r.score) FROM responses r "
        "JOIN attempts a ON a.id = r.attempt_id "
        "WHERE a.assessment_id = :x AND a.status != 'in_progress' GROUP BY r.question_id"
    ),
    "pending grading": (
        "SELECT id FROM responses WHERE grading_status = 'pending' ORDER BY id LIMIT 10"
    ),
}


def explain_hot_paths(conn: Connection) -> int:
    sample = conn.execute(
        text("SELECT a.id, a.user_id, a.assessment_id FROM attempts a ORDER BY id DESC LIMIT 1")
    ).one()
    token_hash = conn.scalar(text("SELECT token_hash FROM auth_tokens LIMIT 1"))
    params = {"h": token_hash, "u": sample[1], "a": sample[0], "x": sample[2]}
    # The admin search runs repo_domain's own statement (as benchmarks/user_search.py shows it).
    search = user_page_statement(query="user4242", after=None, limit=25).compile(conn.engine)
    paths = {name: (sql, params, False) for name, sql in HOT_PATHS.items()}
    paths["admin search 'user4242' (repo_domain.search)"] = (str(search), search.params, True)
    seq = 0
    for name, (sql, bound, driver_sql) in paths.items():
        explain = f"EXPLAIN (ANALYZE, COSTS OFF) {sql}"
        rows = (
            conn.exec_driver_sql(explain, bound)
            if driver_sql
            else conn.execute(text(explain), bound)
        )
        plan = [r[0] for r in rows]
        flagged = [line for line in plan if "Seq Scan" in line]
        seq += bool(flagged)
        shown = re.sub(r"\s+", " ", sql)[:200]
        print(f"\n-- {name}{'  <-- SEQUENTIAL SCAN' if flagged else ''}: {shown}")
        for line in plan:
            print(f"   {line}")
    return seq


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """--help shows the whole module docstring (what the run does) and every default."""


def _ms(value: str) -> float:
    """A locust CSV latency cell ("N/A" when an endpoint had no request in a sample)."""
    return float(value) if value not in ("N/A", "") else 0.0


def locust_env(
    env: dict[str, str],
    workdir: Path,
    *,
    users: dict[str, Any],
    authors: list[str],
    web: str,
    args: argparse.Namespace,
) -> dict[str, str]:
    """The locustfile's environment: the tokens file (role and token per line) and the run's
    settings, shared by this run and benchmarks/lb.py's run through the balancer."""
    tokens = workdir / "tokens.tsv"
    lines = [f"learner\t{t}" for t in users["learner"]]
    lines += [f"admin\t{t}" for t in users["admin"]] + [f"author\t{t}" for t in authors]
    tokens.write_text("\n".join(lines) + "\n")
    return {
        **env,
        "SCALE_TOKENS": str(tokens),
        "SCALE_ASSESSMENTS": ",".join(users["catalogue_ids"]),
        "SCALE_WEB": web,
        "SCALE_USERS": str(args.users),
        "SCALE_HTTP_CLIENT": args.http_client,
        "SCALE_ANSWER_THINK": ",".join(str(v) for v in args.answer_think),
    }


def _start_locust(
    args: argparse.Namespace, api: str, env: dict[str, str], csv_prefix: Path, seconds: int
) -> subprocess.Popen[bytes]:
    """locust headless with the run's clients and spawn rate; CSV files at ``csv_prefix``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "-u",
            str(args.clients),
            "-r",
            str(args.spawn_rate),
            "--run-time",
            f"{seconds}s",
            "--host",
            api,
            "--csv",
            str(csv_prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(f"{csv_prefix}.log", "wb"),  # noqa: SIM115 - closed with the process
    )


def _think_range(text: str) -> tuple[float, float]:
    """``0`` or ``MIN,MAX`` (seconds) for --answer-think."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 0 or MIN,MAX in seconds: {text!r}") from None
    if len(values) == 1 and values[0] == 0:
        return (0.0, 0.0)
    if len(values) != 2 or not 0 <= values[0] <= values[1]:
        raise argparse.ArgumentTypeError(f"expected 0 or MIN,MAX with 0 <= MIN <= MAX: {text!r}")
    return (values[0], values[1])


def select_statements(url: str, *, reset: bool = False) -> int:
    """SELECT statements run on ``url``'s server in its database since the last reset."""
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if reset:
                conn.execute(text("SELECT pg_stat_statements_reset()"))
                return 0
            return int(conn.scalar(_SELECTS_SQL) or 0)
    finally:
        engine.dispose()


def stop_processes(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, SIGKILL after 15 s; the list is emptied."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    procs.clear()


def print_replica_comparison(
    p99_by_phase: dict[str, dict[str, float]], selects: dict[str, tuple[int, int]]
) -> None:
    """--replica: both phases' p99 per endpoint side by side, and where the SELECTs ran."""
    first, second = "primary only", "standby reads"
    print(f"\np99 per endpoint (ms, median of the samples): {first} vs {second}")
    print(f"{'endpoint':44} {first:>13} {second:>13} {'ratio':>6}")
    for endpoint, base in p99_by_phase.get(first, {}).items():
        other = p99_by_phase.get(second, {}).get(endpoint)
        ratio = f"x{other / base:.2f}" if other is not None and base else "-"
        shown = f"{other:.0f}" if other is not None else "-"
        print(f"{endpoint[:44]:44} {base:13.0f} {shown:>13} {ratio:>6}")
    for phase, (on_primary, on_standby) in selects.items():
        total = on_primary + on_standby
        share = on_standby / total if total else 0.0
        print(
            f"SELECT statements, {phase}: primary {on_primary:,}, standby {on_standby:,}: "
            f"{share:.1%} served by the standby"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--assessments", type=int, default=200, help="published assessments")
    parser.add_argument("--responses", type=int, default=1_000_000, help="submitted responses")
    parser.add_argument("--clients", type=int, default=64, help="concurrent locust users")
    parser.add_argument("--spawn-rate", type=int, default=16)
    parser.add_argument("--duration", type=int, default=60, help="seconds of measured load")
    parser.add_argument(
        "--samples",
        type=int,
        default=3,
        help="measured runs of --duration seconds each, one after the other on the same data "
        "and servers; p99 is shown as min/median/max and a target counts as met only when "
        "every sample meets it",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="seconds of the same load before the measured run, not measured (0: none)",
    )
    parser.add_argument(
        "--http-client",
        choices=("fast", "requests"),
        default="fast",
        help="locust's client: fast = FastHttpUser (geventhttpclient, less CPU per request), "
        "requests = HttpUser",
    )
    parser.add_argument(
        "--answer-think",
        type=_think_range,
        default=(0.5, 2.0),
        metavar="MIN,MAX",
        help="seconds a learner thinks before each answer, uniform in MIN..MAX (%(default)s, "
        "the same as between tasks); 0 sends an attempt's answers back to back, the burst "
        "profile of the runs before 27 Nov 2026",
    )
    parser.add_argument("--workers", type=int, default=2, help="API worker processes")
    parser.add_argument("--tokens", type=int, default=500, help="learners with a token")
    parser.add_argument("--pool-size", type=int, default=10, help="DB_POOL_SIZE per process")
    parser.add_argument(
        "--max-overflow",
        type=int,
        default=0,
        help="DB_MAX_OVERFLOW per process (0: an overflow connection would be opened for a "
        "burst and closed after it, a new PostgreSQL backend each time)",
    )
    parser.add_argument(
        "--slow-ms", type=int, default=20, help="log_min_duration_statement on the database"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "REPO_DB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres"
        ),
        help="server admin URL; a private database is created and dropped on it",
    )
    default_log = sorted(Path("/var/log/postgresql").glob("postgresql-*-main.log"))
    parser.add_argument("--pg-log", default=str(default_log[-1]) if default_log else None)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--pgbouncer",
        nargs="?",
        const=PGBOUNCER_URL,
        default=None,
        metavar="URL",
        help="serve the apps' database URL through PgBouncer in transaction mode (default "
        f"{PGBOUNCER_URL}, started with tools/pgbouncer/start if it does not answer); the "
        "harness seeds and migrates on the direct URL (DATABASE_DIRECT_URL)",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="on a private primary + streaming standby: measure without, then with "
        "DATABASE_READ_URL on the standby (--pg-url and --pg-log are then the pair's)",
    )
    args = parser.parse_args()
    os.environ.setdefault("DB_LOG_QUERIES", "0")
    pair = None
    if args.replica:
        if args.pgbouncer:
            parser.error("--replica and --pgbouncer are measured apart")
        pair = StandbyPair(extra_conf=REPLICA_CONF)  # stopped in the finally below
        try:
            pair.start().wait_streaming()
        except BaseException:
            pair.stop()
            raise
        args.pg_url = pair.primary_url.render_as_string(hide_password=False)
        args.pg_log = str(pair.dir / "primary.log")
        print(f"private primary :{pair.primary_port}, standby :{pair.standby_port}", flush=True)

    admin_url = make_url(args.pg_url).set(drivername="postgresql+psycopg")
    name = f"repo_scale_{uuid.uuid4().hex[:8]}"
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    procs: list[subprocess.Popen[bytes]] = []
    workdir = Path(tempfile.mkdtemp(prefix="scale-"))
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        if pair is not None:
            with get_engine(url).connect() as conn:
                conn.execute(text("CREATE EXTENSION pg_stat_statements"))
                conn.commit()
        print(f"database {name}: migrating, seeding {args.users:,} users (COPY)...", flush=True)
        t0 = time.perf_counter()
        upgrade(get_engine(url))
        seeded = bulk_seed(args.users, get_engine(url))
        print(f"bulk_seed {seeded.created} in {time.perf_counter() - t0:.1f}s", flush=True)
        print(
            f"growing to {args.assessments} assessments and {args.responses:,} responses "
            "(server-side INSERT ... SELECT, one line per round)...",
            flush=True,
        )
        t1 = time.perf_counter()
        with get_engine(url).begin() as conn:
            extra = grow_assessments(conn, args.assessments)
            added = grow_responses(conn, args.responses)
        print(
            f"grown by {extra} assessments and {added:,} responses in "
            f"{time.perf_counter() - t1:.1f}s",
            flush=True,
        )
        print("tokens, VACUUM ANALYZE, starting the API, web app and AI worker...", flush=True)
        users = prepare_users(url, args.tokens, args.users)
        authors = author_tokens(url, max(1, args.clients // 8))
        with get_engine(url).connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
            counts = {
                t: conn.scalar(text(f"SELECT count(*) FROM {t}"))
                for t in ("users", "assessments", "questions", "attempts", "responses", "results")
            }
            size = conn.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
        print(f"data set: {counts}; database size {size}", flush=True)
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(
                text(f'ALTER DATABASE "{name}" SET log_min_duration_statement = {args.slow_ms}')
            )
        pg_log = Path(args.pg_log) if args.pg_log else None
        pg_offset = pg_log.stat().st_size if pg_log and pg_log.is_file() else 0

        base_env = {
            **os.environ,
            "DATABASE_URL": url,
            "API_LOG_LEVEL": "warning",
            "DB_POOL_SIZE": str(args.pool_size),
            "DB_MAX_OVERFLOW": str(args.max_overflow),
            "DB_LOG_QUERIES": "0",
            "DB_SLOW_QUERY_MS": "200",
        }
        if args.pgbouncer:
            base_env.update(pooled_env(url, args.pgbouncer))
        db_path = (
            f"PgBouncer (transaction mode) at {make_url(base_env['DATABASE_URL']).port}, "
            f"migrations and COPY direct"
            if args.pgbouncer
            else f"direct to PostgreSQL at {make_url(url).port or 5432} (no pooler)"
        )
        base_env.pop("NODE_ENV", None)
        base_env.pop("APP_ENV", None)
        phases: list[tuple[str, dict[str, str]]] = [("", {})]
        if pair is not None:
            standby = pair.url(standby=True, database=name).render_as_string(hide_password=False)
            shared = {
                "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                "API_RATE_LIMIT_STORAGE": "memory://",
                "WEB_RATE_LIMIT_STORAGE": "memory://",
            }
            phases = [
                ("primary only", shared),
                ("standby reads", {**shared, "DATABASE_READ_URL": standby}),
            ]
            primary_db, standby_db = url, standby
        errors = 0
        missed: list[str] = []
        p99_by_phase: dict[str, dict[str, float]] = {}
        selects: dict[str, tuple[int, int]] = {}
        for phase, phase_env in phases:
            env = {**base_env, **phase_env}
            if phase:
                print(f"\n=== phase: {phase} ===", flush=True)
            api, proc = start_server(
                Variant("scale", {"WORKERS": str(args.workers)}),
                env,
                argparse.Namespace(workers=args.workers),
                workdir,
            )
            procs.append(proc)
            web_port = _free_port()
            web = f"http://127.0.0.1:{web_port}"
            procs.append(
                start_process(
                    [sys.executable, "-m", "repo_web", "--port", str(web_port)],
                    env,
                    workdir / "web.log",
                    f"{web}/login",
                )
            )
            procs.append(
                start_process(
                    [sys.executable, "-m", "repo_ai", "worker"], env, workdir / "ai.log", None
                )
            )
            run_env = locust_env(env, workdir, users=users, authors=authors, web=web, args=args)
            load_before = os.getloadavg()
            print(
                f"locust ({args.http_client} client): {args.clients} clients, "
                f"spawn {args.spawn_rate}/s, {args.duration}s, think before each answer "
                f"{args.answer_think[0]:g}-{args.answer_think[1]:g}s; "
                f"API {api} ({args.workers} workers), web {web}, AI worker; database {db_path}; "
                f"load average {load_before[0]:.2f}",
                flush=True,
            )
            if args.warmup:
                # The same load, not measured: first requests warm each worker's statement and
                # template caches and the database's buffers, which a live server has done long ago.
                warm = _start_locust(args, api, run_env, workdir / "warmup", args.warmup)
                warm.wait()
                warm_rows = list(csv.DictReader((workdir / "warmup_stats.csv").open()))
                warm_total = next(r for r in warm_rows if r["Name"] == "Aggregated")
                print(
                    f"warm-up: {args.warmup}s, {warm_total['Request Count']} requests, "
                    f"{warm_total['Failure Count']} failed (not measured)",
                    flush=True,
                )
            account = CpuAccount(
                roots={
                    f"API ({args.workers} workers + master)": procs[0].pid,
                    "web app": procs[1].pid,
                    "AI worker": procs[2].pid,
                },
                matchers={
                    # One locust process per sample, each started after the account.
                    "locust (load generator)": lambda cmd: f"-m locust -f {LOCUSTFILE}" in cmd,
                    "PostgreSQL backends of this database": lambda cmd: cmd.startswith("postgres: ")
                    and f" {name} " in cmd,
                    "PostgreSQL background (whole server)": lambda cmd: bool(
                        PG_BACKGROUND.match(cmd)
                    ),
                    "PgBouncer (shared)": lambda cmd: Path(cmd.split(" ")[0]).name == "pgbouncer",
                },
            )
            if pair is not None:
                for db_url in (primary_db, standby_db):
                    select_statements(db_url, reset=True)
            account.start()
            samples: list[dict[str, dict[str, str]]] = []
            for i in range(args.samples):
                locust = _start_locust(args, api, run_env, workdir / f"locust{i}", args.duration)
                locust.wait()
                stats_file = workdir / f"locust{i}_stats.csv"
                if not stats_file.is_file():
                    raise SystemExit(
                        f"locust wrote no stats:\n{(workdir / 'locust.log').read_text()[-3000:]}"
                    )
                samples.append({r["Name"]: r for r in csv.DictReader(stats_file.open())})
                agg = samples[-1]["Aggregated"]
                print(
                    f"sample {i + 1}/{args.samples}: {agg['Request Count']} requests, "
                    f"{float(agg['Requests/s']):.1f}/s, p99 {agg['99%']} ms, "
                    f"{agg['Failure Count']} failed",
                    flush=True,
                )
            account.stop()
            if pair is not None:
                selects[phase] = (select_statements(primary_db), select_statements(standby_db))
            load_after = os.getloadavg()
            header = (
                f"{'endpoint':44} {'requests':>8} {'req/s':>6} {'p50':>5} {'p95':>5} "
                f"{'p99 min/med/max':>16} {'errors':>6}  target (every sample)"
            )
            print(
                f"\nper endpoint (ms), {args.samples} samples x {args.duration}s (requests and "
                f"errors summed, req/s p50 p95 medians), load average "
                f"{load_before[0]:.2f} -> {load_after[0]:.2f}"
            )
            print(header)
            print("-" * len(header))
            for endpoint in samples[0]:
                runs = [sample[endpoint] for sample in samples if endpoint in sample]
                label = endpoint if endpoint != "Aggregated" else "ALL endpoints"
                n_fail = sum(int(r["Failure Count"]) for r in runs)
                p99s = sorted(_ms(r["99%"]) for r in runs)
                write = runs[0]["Type"] in {"POST", "PUT", "PATCH", "DELETE"}
                limit = WRITE_P99_MS if write else READ_P99_MS
                verdict = ""
                p99_by_phase.setdefault(phase, {})[label] = statistics.median(p99s)
                if endpoint != "Aggregated":
                    errors += n_fail
                    met = sum(p < limit for p in p99s)
                    state = "met" if met == len(p99s) else "MISSED"
                    verdict = f"p99<{limit:.0f} {state} ({met}/{len(p99s)})"
                    if met < len(p99s):
                        missed.append(f"{phase}: {label}" if phase else label)
                p99 = f"{p99s[0]:.0f}/{statistics.median(p99s):.0f}/{p99s[-1]:.0f}"
                print(
                    f"{label[:44]:44} {sum(int(r['Request Count']) for r in runs):>8} "
                    f"{statistics.median(float(r['Requests/s']) for r in runs):6.1f} "
                    f"{statistics.median(_ms(r['50%']) for r in runs):5.0f} "
                    f"{statistics.median(_ms(r['95%']) for r in runs):5.0f} "
                    f"{p99:>16} {n_fail:>6}  {verdict}"
                )
            total = sum(int(sample["Aggregated"]["Request Count"]) for sample in samples)
            print(f"\nCPU during the load ({account.wall_seconds:.0f}s, {total} requests; /proc):")
            for line in cpu_report(account, total, {f"API ({args.workers} workers + master)"}):
                print(f"  {line}")
            for failures in sorted(workdir.glob("locust*_failures.csv")) if errors else []:
                print(f"\nfailures ({failures.name}):\n" + failures.read_text()[:3000])
            stop_processes(procs)  # the next phase starts its own
        if pair is not None:
            print_replica_comparison(p99_by_phase, selects)
        with get_engine(url).connect() as conn:
            size = conn.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
            graded = (
                conn.execute(
                    text(
                        "SELECT grading_status, count(*) FROM responses "
                        "WHERE updated_at > now() - make_interval(secs => :s) GROUP BY 1"
                    ),
                    {"s": args.samples * (args.duration + 5) + 60},
                )
                .tuples()
                .all()
            )
            print(
                f"\ndatabase size after the run: {size}; responses written in the run by "
                f"grading status: {dict(graded)}"
            )
            if pg_log and pg_log.is_file():
                print(f"\nslowest statements >= {args.slow_ms} ms (PostgreSQL's log {pg_log}):")
                for line in slowest_statements(pg_log, pg_offset, name, 10) or ["  none"]:
                    print(f"  {line}")
            else:
                print("\nno PostgreSQL log readable: slow statements not shown")
            seq = explain_hot_paths(conn)
        get_engine(url).dispose()
        print(
            f"\nerrors: {errors} (0 required: {'met' if errors == 0 else 'MISSED'}); "
            f"p99 targets missed by: {missed or 'none'}; hot paths with a sequential scan: {seq}; "
            f"database path: {db_path}"
        )
        return 0 if errors == 0 else 1
    finally:
        tear_down(procs, admin, None if args.keep else name, workdir)
        if pair is not None:
            pair.stop()


if __name__ == "__main__":
    sys.exit(main())
