"""Capacity (issue 19): the platform's hot queries on 100,000 and on 1,000,000 users' data.

For each ``--sizes`` N (default 100,000 then 1,000,000), on a private PostgreSQL database
(``benchmarks/private_db.py``: created on ``--pg-url``, migrated, dropped at the end):

1. Seeds N users' data in the scale run's shape (``benchmarks/scale.py``): ``repo_db.bulk_seed``
   (binary COPY from Python) for the users, then server-side ``INSERT ... SELECT``
   (``scale.grow_assessments`` / ``scale.grow_responses``) to ``--assessments-per-100k``
   published assessments and ``--responses-per-user`` submitted responses (the big tables'
   secondary indexes and foreign keys are dropped for the load and built once afterwards, and
   checked to be the same set), then ``VACUUM ANALYZE``. So 100,000 users is exactly the scale
   run's data set and 1,000,000 is ten times it, every table in proportion.
2. Runs the real request code paths in-process: the API app (``repo_api.app.create_app``) behind
   Starlette's TestClient, and the AI worker's own ``claim`` and ``sweep`` units
   (``repo_ai.worker.Worker``), ``--runs`` times each after ``--warmup`` unmeasured runs.
   Learners take a whole attempt each (open, start, answer every question, submit, result),
   read the catalogue, their history and ``/users/me``; authors create, edit and list drafts;
   an admin searches users and opens statistics. Every SQL statement the code sends is captured
   with SQLAlchemy's cursor events and timed there (round trip from the client, psycopg
   included; BEGIN/COMMIT and the pool's pre-ping are not cursor executes and not counted).
3. Prints per request type: statements per request, CPU ms per request in this process (the
   app and TestClient together; ``GET /healthz`` is the no-database baseline) and, per
   statement, median/p95 ms, the EXPLAIN plan's scans (index / index-only / bitmap / SEQ SCAN),
   and then table and index sizes and bytes per row.

Finally a table of every statement at both sizes; ``<-- DEGRADES`` marks a median more than 2x
slower (and at least 0.5 ms) at the larger size, or a plan that became a sequential scan.
Timings are this machine's under whatever else runs on it: compare the ratio, measured minutes
apart, not absolute ms.

    nice -n 10 ./pants run benchmarks/capacity.py     # 100k and 1M (~10 min quiet, 30 busy)
    nice -n 10 ./pants run benchmarks/capacity.py -- --sizes 10000 100000 --runs 10   # quick
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Before repo_db reads its settings: no statement logs or slow-query warnings from the seeding.
os.environ.setdefault("DB_LOG_QUERIES", "0")
os.environ.setdefault("DB_SLOW_QUERY_MS", "0")

import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Connection, Engine, event, text  # noqa: E402

from benchmarks.api_load import prepare_users  # noqa: E402
from benchmarks.private_db import private_database  # noqa: E402
from benchmarks.scale import author_tokens, grow_assessments, grow_responses  # noqa: E402
from repo_ai.config import AiSettings  # noqa: E402
from repo_ai.worker import Worker  # noqa: E402
from repo_api.app import create_app  # noqa: E402
from repo_api.config import ApiSettings  # noqa: E402
from repo_db.bulk_seed import bulk_seed  # noqa: E402

TABLES = (
    "users",
    "auth_tokens",
    "assessments",
    "questions",
    "answer_options",
    "attempts",
    "responses",
    "results",
    "jobs",
)
#: Loaded without their secondary indexes and foreign keys (built once afterwards).
BULK_TABLES = ("users", "attempts", "responses", "results")
DEGRADES = 2.0
#: A slower median also has to cost this much more to be flagged: sub-millisecond round trips
#: double with the machine's other work alone (seen in short runs: 0.2 -> 0.5 ms, same plan).
DEGRADES_MIN_MS = 0.5
_T0 = "capacity_t0"
_IN_LIST = re.compile(r"\((?:%\(\w+\)s(?:, )?)+\)")
_SAVEPOINT = re.compile(r"(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT) \w+")


def normalize(statement: str) -> str:
    """One text per statement shape: whitespace folded, IN lists and savepoint names elided."""
    folded = " ".join(statement.split())
    return _SAVEPOINT.sub(r"\1 sp", _IN_LIST.sub("(...)", folded))


def label(statement: str) -> str:
    """A short name for a statement: verb, tables, the start of its WHERE clause."""
    verb = statement.split(" ", 1)[0]
    if verb.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
        return statement
    tables = re.findall(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(\w+)", statement)
    seen = list(dict.fromkeys(t for t in tables if t.upper() != "SELECT"))
    where = ""
    m = re.search(
        r" WHERE (.*?)(?: ORDER BY | GROUP BY | LIMIT | RETURNING | FOR UPDATE|$)", statement
    )
    if m:
        where = re.sub(r"%\((\w+)\)s", "?", m.group(1))
        where = re.sub(r"\b\w+\.(\w+)", r"\1", where)
        where = " WHERE " + (where if len(where) <= 60 else where[:57] + "...")
    return f"{verb} {','.join(seen)}{where}"


@dataclass
class Stat:
    ms: list[float] = field(default_factory=list)
    params: Any = None


@dataclass
class Recorder:
    """Every statement sent while ``current`` names a request type, timed at the cursor."""

    current: str | None = None
    calls: int = 0
    stats: dict[tuple[str, str], Stat] = field(default_factory=lambda: defaultdict(Stat))
    per_call: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    cpu_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def before(self, _c: Any, _cur: Any, _s: str, _p: Any, context: Any, _m: bool) -> None:
        if context is not None:
            setattr(context, _T0, time.perf_counter())

    def after(
        self, _c: Any, _cur: Any, statement: str, params: Any, context: Any, _m: bool
    ) -> None:
        start = getattr(context, _T0, None)
        if self.current is None or start is None:
            return
        stat = self.stats[(self.current, normalize(statement))]
        stat.ms.append(1000 * (time.perf_counter() - start))
        stat.params = params
        self.calls += 1

    @contextmanager
    def request(self, name: str | None) -> Iterator[None]:
        """Attribute statements to ``name`` (None: a warm-up, not recorded)."""
        self.current, self.calls = name, 0
        cpu = time.process_time()
        try:
            yield
        finally:
            if name is not None:
                self.cpu_ms[name].append(1000 * (time.process_time() - cpu))
                self.per_call[name].append(self.calls)
            self.current = None


def api_settings() -> ApiSettings:
    """Development behaviour, an in-memory throttle no run reaches (as the API's tests)."""
    limits: dict[str, Any] = {
        k: "1000000/minute"
        for k in (
            "login_rate_per_address",
            "login_rate_global",
            "login_failures_per_account",
            "login_failures_per_device",
            "register_rate_per_address",
            "register_rate_per_account",
        )
    }
    return ApiSettings(
        rate_limit_storage="memory://", log_level="warning", **limits
    ).overriding_environment(production=False)


def answer(question: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A random valid answer (the scale run's locust learner answers the same way)."""
    options = [o["id"] for o in question.get("options", [])]
    kind = question["kind"]
    if kind == "single_choice":
        return {"selected_option_ids": [rng.choice(options)]}
    if kind == "multiple_choice":
        return {"selected_option_ids": rng.sample(options, 2)}
    if kind == "numeric":
        return {"numeric_value": rng.randint(0, 30)}
    return {"text_value": rng.choice(["a reference answer", "no idea", "the answer is 42"])}


def _keys(conn: Connection) -> list[tuple[str, str, str]]:
    """(table, name, DDL that creates it) of the foreign keys, unique constraints and secondary
    indexes of the big tables (the primary keys stay)."""
    constraints = conn.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = ANY(CAST(:t AS regclass[])) AND contype IN ('f', 'u')"
            " ORDER BY contype DESC, conname"  # unique constraints before foreign keys
        ),
        {"t": list(BULK_TABLES)},
    ).all()
    indexes = conn.execute(
        text(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(:t)"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname"
        ),
        {"t": list(BULK_TABLES)},
    ).all()
    return [(t, n, f"ALTER TABLE {t} ADD CONSTRAINT {n} {d}") for t, n, d in constraints] + [
        (str(t), str(n), str(d)) for t, n, d in indexes
    ]


@contextmanager
def keys_built_afterwards(engine: Engine) -> Iterator[None]:
    """Load without the big tables' secondary indexes and foreign keys, then build each once.

    Maintaining four indexes and two foreign-key checks per inserted row made the 1M growth take
    20 min at load average ~10; a sorted build afterwards is one pass per index. The rebuilt set
    is checked against the original one.
    """
    with engine.begin() as conn:
        before = _keys(conn)
        for table, name, ddl in before:
            kind = "CONSTRAINT" if ddl.startswith("ALTER TABLE") else "INDEX"
            if kind == "CONSTRAINT":
                conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
            else:
                conn.execute(text(f"DROP INDEX {name}"))
    yield
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for _table, _name, ddl in before:
            conn.execute(text(ddl))
        after = _keys(conn)
    if sorted(after) != sorted(before):
        raise SystemExit(f"keys not restored: {sorted(set(before) ^ set(after))}")


def seed(engine: Engine, n_users: int, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    with keys_built_afterwards(engine):
        created = bulk_seed(n_users, engine).created
        print(f"  bulk_seed (COPY) {created} in {time.perf_counter() - t0:.0f} s", flush=True)
        t1 = time.perf_counter()
        with engine.begin() as conn:
            grow_assessments(conn, max(1, n_users * args.assessments_per_100k // 100_000))
            grow_responses(conn, n_users * args.responses_per_user)
        t2 = time.perf_counter()
    t3 = time.perf_counter()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    print(
        f"  grown (INSERT ... SELECT) in {t2 - t1:.0f} s, indexes and foreign keys built in "
        f"{t3 - t2:.0f} s, VACUUM ANALYZE {time.perf_counter() - t3:.0f} s",
        flush=True,
    )


def drive(engine: Engine, n_users: int, rec: Recorder, args: argparse.Namespace) -> None:
    """Every request type, ``--warmup`` + ``--runs`` times, interleaved."""
    url = engine.url.render_as_string(hide_password=False)
    total = args.warmup + args.runs
    users = prepare_users(url, total, n_users)
    authors = author_tokens(url, total)
    learners = [{"Authorization": f"Bearer {t}"} for t in users["learner"]]
    admin = {"Authorization": f"Bearer {users['admin'][0]}"}
    writers = [{"Authorization": f"Bearer {t}"} for t in authors]
    catalogue = [int(a) for a in users["catalogue_ids"]]
    worker = Worker(settings=AiSettings(), engine=engine, hold=None)
    rng = random.Random(19)
    app = create_app(engine=engine, settings=api_settings())
    with TestClient(app, raise_server_exceptions=True) as client:

        def call(name: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
            with rec.request(name):
                response = client.request(method, path, **kw)
            if not response.is_success:
                raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
            return response

        for i in range(total):
            measured = i >= args.warmup

            def name(n: str) -> str | None:
                return n if measured else None  # noqa: B023 - used within the iteration

            me, author = learners[i], writers[i % len(writers)]
            call(name("GET /healthz (baseline)"), "GET", "/healthz")
            call(name("GET /users/me"), "GET", "/users/me", headers=me)
            call(name("GET /assessments (catalogue)"), "GET", "/assessments?limit=20", headers=me)
            call(name("GET /attempts (history)"), "GET", "/attempts?limit=20", headers=me)
            # A whole attempt, on an assessment the learner has not started (prepare_users
            # started catalogue[i]).
            aid = catalogue[(i + 1 + rng.randrange(len(catalogue) - 1)) % len(catalogue)]
            detail = call(name("GET /assessments/{id}"), "GET", f"/assessments/{aid}", headers=me)
            start = call(
                name("POST start attempt"), "POST", f"/assessments/{aid}/attempts", headers=me
            )
            attempt = start.json()["id"]
            for q in detail.json()["questions"]:
                call(
                    name("PUT answer (new)"),
                    "PUT",
                    f"/attempts/{attempt}/responses/{q['id']}",
                    json=answer(q, rng),
                    headers=me,
                )
            call(name("POST submit"), "POST", f"/attempts/{attempt}/submit", headers=me)
            call(name("GET result"), "GET", f"/attempts/{attempt}/result", headers=me)
            draft = call(
                name("POST /assessments (draft)"),
                "POST",
                "/assessments",
                json={"title": f"Capacity draft {i}", "description": "draft"},
                headers=author,
            ).json()["id"]
            call(
                name("PATCH /assessments/{id}"),
                "PATCH",
                f"/assessments/{draft}",
                json={"description": f"edited {i}"},
                headers=author,
            )
            call(name("GET /assessments/mine"), "GET", "/assessments/mine?limit=20", headers=author)
            q = f"user{rng.randrange(n_users)}"
            call(name("GET /admin/users?q="), "GET", f"/admin/users?q={q}&limit=25", headers=admin)
            stats = rng.choice(catalogue)
            call(
                name("GET /assessments/{id}/stats"),
                "GET",
                f"/assessments/{stats}/stats",
                headers=admin,
            )
            with rec.request(name("AI worker claim")):
                worker.claim()
            with rec.request(name("AI worker sweep")):
                worker.sweep()


def scans(plan: dict[str, Any]) -> list[str]:
    """The scan nodes of an EXPLAIN (FORMAT JSON) plan: 'Index Scan ix_...', 'SEQ SCAN table'."""
    out = []
    node = plan.get("Node Type", "")
    if "Scan" in node and node not in ("Result",):
        target = plan.get("Index Name") or plan.get("Relation Name") or ""
        out.append(f"{'SEQ SCAN' if node == 'Seq Scan' else node} {target}".strip())
    for child in plan.get("Plans", []):
        out.extend(scans(child))
    return out


def explain(engine: Engine, statement: str, params: Any) -> str:
    if not statement.startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
        return "-"
    if isinstance(params, list | tuple) and params and isinstance(params[0], dict):
        params = params[0]  # an executemany: the plan of one row's statement
    with engine.connect() as conn:
        try:
            row = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).scalar_one()
        except Exception as exc:  # - a plan we cannot show is reported, not fatal
            return f"no plan: {type(exc).__name__}"
        finally:
            conn.rollback()
    found = scans(row[0]["Plan"])
    return "; ".join(dict.fromkeys(found)) or "no scan"


def sizes(engine: Engine) -> dict[str, tuple[int, int, int]]:
    """{table: (rows, heap+toast bytes, index bytes)}."""
    out = {}
    with engine.connect() as conn:
        for t in TABLES:
            rows = conn.scalar(text(f"SELECT count(*) FROM {t}"))  # names from TABLES only
            heap, idx = conn.execute(
                text("SELECT pg_table_size(:t), pg_indexes_size(:t)"), {"t": t}
            ).one()
            out[t] = (int(rows or 0), int(heap), int(idx))
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Measured:
    n_users: int
    rec: Recorder
    plans: dict[tuple[str, str], str]
    sizes: dict[str, tuple[int, int, int]]


def measure_size(admin_url: str, n_users: int, args: argparse.Namespace) -> Measured:
    print(f"\n=== {n_users:,} users === (load average {os.getloadavg()[0]:.1f})", flush=True)
    with private_database(admin_url, prefix="repo_capacity") as engine:
        seed(engine, n_users, args)
        rec = Recorder()
        event.listen(engine, "before_cursor_execute", rec.before)
        event.listen(engine, "after_cursor_execute", rec.after)
        t0 = time.perf_counter()
        try:
            drive(engine, n_users, rec, args)
        finally:
            event.remove(engine, "before_cursor_execute", rec.before)
            event.remove(engine, "after_cursor_execute", rec.after)
        print(f"  requests driven in {time.perf_counter() - t0:.0f} s", flush=True)
        plans = {key: explain(engine, key[1], st.params) for key, st in rec.stats.items()}
        measured = Measured(n_users, rec, plans, sizes(engine))
    report_size(measured)
    return measured


def report_size(m: Measured) -> None:
    rec = m.rec
    base = statistics.median(rec.cpu_ms["GET /healthz (baseline)"])
    print(f"\n{m.n_users:,} users: per request type (statements per request; CPU ms median)")
    for request in rec.per_call:
        cpu = statistics.median(rec.cpu_ms[request])
        print(
            f"  {request:30} {statistics.median(rec.per_call[request]):4.0f} statements  "
            f"CPU {cpu:6.2f} ms ({cpu / base:4.1f}x /healthz)"
        )
        for (req, stmt), st in rec.stats.items():
            if req == request:
                print(
                    f"      {statistics.median(st.ms):7.2f} / {pct(st.ms, 0.95):7.2f} ms  "
                    f"{label(stmt)[:90]}  [{m.plans[(req, stmt)]}]"
                )
    print(f"\n{m.n_users:,} users: tables (rows, table MB, index MB, bytes per row incl. indexes)")
    for t, (rows, heap, idx) in m.sizes.items():
        per = (heap + idx) / rows if rows else 0
        print(f"  {t:15} {rows:>12,} {heap / 2**20:9.1f} {idx / 2**20:9.1f} {per:8.0f}")
    total = sum(h + i for _, h, i in m.sizes.values())
    print(f"  all listed tables: {total / 2**20:,.0f} MB")


def compare(small: Measured, large: Measured) -> int:
    """The side-by-side table; the number of statements that degrade."""
    print(
        f"\n=== {small.n_users:,} -> {large.n_users:,} users: median / p95 ms per statement, "
        f"x = median ratio; <-- DEGRADES: > {DEGRADES:.0f}x and >= {DEGRADES_MIN_MS} ms "
        "slower, or a new SEQ SCAN ==="
    )
    degraded = 0
    for request in large.rec.per_call:
        s_n = statistics.median(small.rec.per_call.get(request, [0]))
        l_n = statistics.median(large.rec.per_call[request])
        s_cpu = statistics.median(small.rec.cpu_ms.get(request, [0.0]))
        l_cpu = statistics.median(large.rec.cpu_ms[request])
        print(f"{request}: statements {s_n:.0f} -> {l_n:.0f}; CPU ms {s_cpu:.2f} -> {l_cpu:.2f}")
        for (req, stmt), st in large.rec.stats.items():
            if req != request:
                continue
            before = small.rec.stats.get((req, stmt))
            l_med = statistics.median(st.ms)
            if before is None:
                print(
                    f"    {'(new)':>19} -> {l_med:6.2f}/{pct(st.ms, .95):6.2f}  {label(stmt)[:80]}"
                )
                continue
            s_med = statistics.median(before.ms)
            ratio = l_med / s_med if s_med else float("inf")
            new_seq = "SEQ SCAN" in large.plans[(req, stmt)] and "SEQ SCAN" not in small.plans.get(
                (req, stmt), ""
            )
            flag = (ratio > DEGRADES and l_med - s_med >= DEGRADES_MIN_MS) or new_seq
            degraded += flag
            s_p95, l_p95 = pct(before.ms, 0.95), pct(st.ms, 0.95)
            print(
                f"    {s_med:6.2f}/{s_p95:6.2f} -> {l_med:6.2f}/{l_p95:6.2f}"
                f" {ratio:5.1f}x  {label(stmt)[:80]}  [{large.plans[(req, stmt)]}]"
                f"{'  <-- DEGRADES' if flag else ''}"
            )
    print("\ngrowth per 100,000 users (table + indexes):")
    step = (large.n_users - small.n_users) / 100_000
    for t in TABLES:
        s_rows, s_h, s_i = small.sizes[t]
        l_rows, l_h, l_i = large.sizes[t]
        print(
            f"  {t:15} {(l_rows - s_rows) / step:>12,.0f} rows "
            f"{(l_h + l_i - s_h - s_i) / step / 2**20:9.1f} MB"
        )
    print(f"statements that degrade more than {DEGRADES:.0f}x: {degraded}")
    return degraded


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=30, help="measured runs per request type")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured runs first")
    parser.add_argument("--responses-per-user", type=int, default=12)
    parser.add_argument("--assessments-per-100k", type=int, default=200)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "REPO_DB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="server on which the private databases are created (and dropped)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"capacity run: sizes {args.sizes}, {args.runs} runs (+{args.warmup} warm-up) per "
        f"request type, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    results = [measure_size(args.pg_url, n, args) for n in args.sizes]
    for small, large in itertools.pairwise(results):
        compare(small, large)
    print(
        f"\ntotal {time.perf_counter() - started:.0f} s; load average now "
        f"{os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
