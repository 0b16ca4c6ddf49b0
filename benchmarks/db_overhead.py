"""Per-call overhead of the repo_db helpers vs SQLAlchemy Core vs raw psycopg, in one run.

    PYTHONPATH=packages/db/src /opt/devvenv/bin/python benchmarks/db_overhead.py --help

Fairness rules, the same for every variant:

* the same SQL: raw psycopg runs the exact statement text and parameters that SQLAlchemy sent
  for the helper (captured with a ``before_cursor_execute`` listener), Core builds the same
  statement (either per call, as application code would, or once with ``bindparam``);
* each operation is its own transaction (``engine.begin()`` / ``BEGIN ... COMMIT``);
* one connection reused throughout (the pool keeps one; raw keeps one open);
* the repo_db engine (``build_engine``: slow-query hooks, connect retry) is used by both the
  helpers and Core, once with ``pool_pre_ping`` on (repo_db's default) and once off.

Variants are interleaved in blocks and rotated every round; each cell is the median over rounds
of the mean µs per call in a block, so a noisy neighbour hits every variant alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import Engine, bindparam, event, insert, select
from sqlalchemy import update as sa_update

import repo_db
from repo_db import build_engine, migrate
from repo_db.config import DbSettings
from repo_db.models import metadata
from repo_db.testing import PostgresDatabase, admin_postgres_url

OPS = ("find_by_id", "find_by", "create", "update")
TARGET_CORE = 1.15
TARGET_RAW = 1.5
users = metadata.tables["users"]
Fn = Callable[[int], object]


def now() -> datetime:
    return datetime.now(UTC)


def capture_sql(engine: Engine, call: Callable[[], object]) -> tuple[str, dict[str, Any]]:
    """The statement text and parameters SQLAlchemy sends to the driver for ``call``."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def listener(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "SELECT 1")):
            seen.append((statement, dict(params)))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(seen) == 1, seen
    return seen[0]


def build_cases(
    engines: dict[str, Engine], raw: psycopg.Connection[Any], ids: list[int], tag: list[str]
) -> dict[str, dict[str, Fn]]:
    """``{op: {variant: fn(i)}}``; ``tag[0]`` makes created e-mails unique per block."""
    any_engine = next(iter(engines.values()))
    helper_calls: dict[str, Callable[[Engine, int, str], object]] = {
        "find_by_id": lambda e, i, _s: repo_db.find_by_id("users", ids[i], engine=e),
        "find_by": lambda e, i, _s: repo_db.find_by("users", "email", f"u{i}@b.example", engine=e),
        "create": lambda e, i, s: repo_db.create(
            "users",
            {"email": f"{s}{i}@c.example", "password_hash": "x", "display_name": "B"},
            engine=e,
        ),
        "update": lambda e, i, s: repo_db.update("users", ids[i], {"display_name": s}, engine=e),
    }
    # Core, statement built per call (what application code typically writes).
    core_built: dict[str, Callable[[int, str], Any]] = {
        "find_by_id": lambda i, _s: select(users).where(users.c.id == ids[i]).limit(1),
        "find_by": lambda i, _s: select(users).where(users.c.email == f"u{i}@b.example").limit(1),
        "create": lambda i, s: insert(users)
        .values(email=f"{s}{i}@c.example", password_hash="x", display_name="B")  # noqa: S106
        .returning(*users.c),
        "update": lambda i, s: sa_update(users)
        .where(users.c.id == ids[i])
        .values(display_name=s)
        .returning(*users.c),
    }
    # Core, statement built once with bindparam (what the helpers do since this change).
    by_id = select(users).where(users.c.id == bindparam("v", type_=users.c.id.type)).limit(1)
    by_email = (
        select(users).where(users.c.email == bindparam("v", type_=users.c.email.type)).limit(1)
    )
    ins = insert(users).returning(*users.c)
    upd = (sa_update(users).where(users.c.id == bindparam("k", type_=users.c.id.type))).returning(
        *users.c
    )
    core_cached: dict[str, tuple[Any, Callable[[int, str], dict[str, Any]]]] = {
        "find_by_id": (by_id, lambda i, _s: {"v": ids[i]}),
        "find_by": (by_email, lambda i, _s: {"v": f"u{i}@b.example"}),
        "create": (
            ins,
            lambda i, s: {"email": f"{s}{i}@c.example", "password_hash": "x", "display_name": "B"},
        ),
        "update": (upd, lambda i, s: {"k": ids[i], "display_name": s}),
    }
    # Raw psycopg: the helper's exact SQL text and parameters, the per-call values swapped in
    # (found by the values the capture call used).
    last = len(ids) - 1

    def capture(op: str) -> tuple[str, dict[str, Any]]:
        return capture_sql(any_engine, lambda: helper_calls[op](any_engine, last, "capture"))

    sql = {op: capture(op) for op in OPS}

    def key_of(op: str, value: object) -> str:
        keys = [k for k, v in sql[op][1].items() if v == value]
        assert len(keys) == 1, (op, value, sql[op][1])
        return keys[0]

    id_key = {op: key_of(op, ids[last]) for op in ("find_by_id", "update")}
    email_key = key_of("find_by", f"u{last}@b.example")
    name_key = key_of("update", "capture")
    raw_params: dict[str, Callable[[int, str], dict[str, Any]]] = {
        "find_by_id": lambda i, _s: {**sql["find_by_id"][1], id_key["find_by_id"]: ids[i]},
        "find_by": lambda i, _s: {**sql["find_by"][1], email_key: f"u{i}@b.example"},
        "create": lambda i, s: {
            **sql["create"][1],
            "email": f"{s}{i}@c.example",
            "created_at": now(),
            "updated_at": now(),
        },
        "update": lambda i, s: {
            **sql["update"][1],
            id_key["update"]: ids[i],
            name_key: s,
            "updated_at": now(),
        },
    }

    def raw_fn(op: str) -> Fn:
        text, _ = sql[op]
        params = raw_params[op]

        def run(i: int) -> object:
            with raw.cursor() as cur:
                cur.execute(text, params(i, tag[0]))
                row = cur.fetchone()
            raw.commit()
            return row

        return run

    def helper_fn(op: str, engine: Engine) -> Fn:
        call = helper_calls[op]
        return lambda i: call(engine, i, tag[0])

    def core_fn(op: str, engine: Engine) -> Fn:
        build = core_built[op]

        def run(i: int) -> object:
            with engine.begin() as conn:
                return conn.execute(build(i, tag[0])).first()

        return run

    def cached_fn(op: str, engine: Engine) -> Fn:
        stmt, params = core_cached[op]

        def run(i: int) -> object:
            with engine.begin() as conn:
                return conn.execute(stmt, params(i, tag[0])).first()

        return run

    cases: dict[str, dict[str, Fn]] = {}
    for op in OPS:
        variants: dict[str, Fn] = {"raw": raw_fn(op)}
        for ping, engine in engines.items():
            variants[f"core/{ping}"] = core_fn(op, engine)
            variants[f"core_cached/{ping}"] = cached_fn(op, engine)
            variants[f"helper/{ping}"] = helper_fn(op, engine)
        cases[op] = variants
    return cases


def block(fn: Fn, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n * 1e6


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """min/median/max."""
    return "/".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def per_round(results: dict[str, list[float]], num: str, den: str) -> list[float]:
    return [a / b for a, b in zip(results[num], results[den], strict=True)]


def print_table(
    title: str, ping: str, results: dict[str, dict[str, list[float]]], cache_growth: int
) -> None:
    """Like for like: the helper against Core with its statement built once, same engine and
    the same pre-ping setting; Core built per call and raw psycopg are for context."""
    print(f"\n{title}")
    header = (
        f"{'operation':11} {'raw µs':>7} {'core/call':>9} {'core once':>9} {'helper µs':>9} "
        f"{'helper/core once (like for like)':>33} {'helper/core/call':>16} {'helper/raw':>10} "
        f"{'once/raw':>8}"
    )
    print(header)
    print("-" * len(header))
    for op, variants in results.items():
        med = {name: statistics.median(values) for name, values in variants.items()}
        like = per_round(variants, f"helper/{ping}", f"core_cached/{ping}")
        verdict = "ok" if statistics.median(like) <= TARGET_CORE else "MISS"
        print(
            f"{op:11} {med['raw']:7.1f} {med[f'core/{ping}']:9.1f} "
            f"{med[f'core_cached/{ping}']:9.1f} {med[f'helper/{ping}']:9.1f} "
            f"{spread(like) + ' ' + verdict:>33} "
            f"{statistics.median(per_round(variants, f'helper/{ping}', f'core/{ping}')):16.2f} "
            f"{statistics.median(per_round(variants, f'helper/{ping}', 'raw')):10.2f} "
            f"{statistics.median(per_round(variants, f'core_cached/{ping}', 'raw')):8.2f}"
        )
    print(f"compiled-cache entries added during timed blocks: {cache_growth}")


def print_pre_ping(results: dict[str, dict[str, list[float]]]) -> None:
    """The cost of pool_pre_ping, like for like: the same variant with it on vs off."""
    print(
        "\npool_pre_ping cost: the same variant with pre-ping ON / OFF (min/median/max of rounds)"
    )
    header = f"{'operation':11} {'helper on/off':>16} {'core once on/off':>18} {'helper +µs':>11}"
    print(header)
    print("-" * len(header))
    for op, variants in results.items():
        extra = statistics.median(variants["helper/ping_on"]) - statistics.median(
            variants["helper/ping_off"]
        )
        print(
            f"{op:11} {spread(per_round(variants, 'helper/ping_on', 'helper/ping_off')):>16} "
            f"{spread(per_round(variants, 'core_cached/ping_on', 'core_cached/ping_off')):>18} "
            f"{extra:11.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(
            "Per-call µs of repo_db find_by_id/find_by/create/update vs SQLAlchemy Core vs raw "
            "psycopg on a throwaway PostgreSQL database (REPO_DB_TEST_POSTGRES_URL, default "
            "postgres@127.0.0.1:5432), with pool_pre_ping on and off."
        )
    )
    parser.add_argument("--iterations", "-n", type=int, default=1_000, help="calls per block")
    parser.add_argument("--rounds", "-r", type=int, default=7, help="blocks per variant")
    parser.add_argument("--warmup", type=int, default=100, help="untimed calls per variant")
    args = parser.parse_args()
    n = args.iterations

    load_before = os.getloadavg()
    database = PostgresDatabase(admin_postgres_url())
    database.create()
    engines = {
        "ping_off": build_engine(
            database.url, settings=DbSettings(db_log_queries=False, db_pool_pre_ping=False)
        ),
        "ping_on": build_engine(
            database.url, settings=DbSettings(db_log_queries=False, db_pool_pre_ping=True)
        ),
    }
    raw_url = database.url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        migrate.upgrade(engines["ping_off"])
        repo_db.create_many(
            "users",
            (
                {"email": f"u{i}@b.example", "password_hash": "x", "display_name": "B"}
                for i in range(n)
            ),
            engine=engines["ping_off"],
        )
        ids = [r["id"] for r in repo_db.find_many("users", engine=engines["ping_off"])]
        raw = psycopg.connect(raw_url, autocommit=False)
        tag = ["w"]
        cases = build_cases(engines, raw, ids, tag)
        results: dict[str, dict[str, list[float]]] = {
            op: {name: [] for name in variants} for op, variants in cases.items()
        }
        for variants in cases.values():
            for name, fn in variants.items():
                tag[0] = f"warm-{name}-"
                block(fn, min(args.warmup, n))
        growth = {ping: 0 for ping in engines}
        for rnd in range(args.rounds):
            for op, variants in cases.items():
                names = list(variants)
                shift = rnd % len(names)
                for name in names[shift:] + names[:shift]:  # rotate the order every round
                    tag[0] = f"r{rnd}-{name}-"
                    before = {p: len(e._compiled_cache or {}) for p, e in engines.items()}
                    results[op][name].append(block(variants[name], n))
                    for p, e in engines.items():
                        growth[p] += len(e._compiled_cache or {}) - before[p]
        server = raw.info.server_version // 10000
        raw.close()
        print(
            f"repo_db per-call overhead: {n} calls x {args.rounds} rounds per cell, median of "
            f"rounds; PostgreSQL {server}, psycopg "
            f"{psycopg.__version__}, SQLAlchemy {__import__('sqlalchemy').__version__}"
        )
        print(
            "core = Core statement built per call; cached = Core statement built once with "
            "bindparam; each call is its own transaction on one reused connection"
        )
        for ping, title in (
            ("ping_off", "pool_pre_ping OFF (DB_POOL_PRE_PING=false)"),
            ("ping_on", "pool_pre_ping ON (repo_db default: one extra SELECT 1 per checkout)"),
        ):
            print_table(title, ping, results, growth[ping])
        print_pre_ping(results)
        print(
            f"\ntarget: helper / Core built once <= {TARGET_CORE} (like for like, same engine "
            f"and pre-ping); helper/raw (goal {TARGET_RAW}) is context: raw psycopg skips "
            "SQLAlchemy entirely"
        )
        load_after = os.getloadavg()
        print(
            f"load average (1/5/15 min) before {'/'.join(f'{x:.2f}' for x in load_before)}, "
            f"after {'/'.join(f'{x:.2f}' for x in load_after)}; {os.cpu_count()} CPUs"
        )
    finally:
        for engine in engines.values():
            engine.dispose()
        database.drop()


if __name__ == "__main__":
    main()
