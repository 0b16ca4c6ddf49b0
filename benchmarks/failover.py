"""Failover drill (issue 19): promote the standby while learners write; count acknowledged writes
lost, errors and the seconds to recovery, with asynchronous and with synchronous replication.

For each replication mode (``async``: the default; ``sync``: ``synchronous_standby_names = '*'``,
``synchronous_commit = on``) and each way the primary goes, one drill. The ways: ``fast``
(``pg_ctl stop -m fast``), ``kill`` (SIGKILL to the postmaster and every server process: a lost
machine) and ``stall-kill`` (the replication link stalls first: the primary's walsender is
SIGSTOPped, and the primary is killed once STALL_ACKS writes were acknowledged meanwhile or after
STALL_S: a standby that is behind when the primary dies, the case where async loses writes):

1. a private primary and a hot standby (``repo_db.standby_pair``, ``pg_basebackup -R``), migrated;
2. the process's DATABASE_URL is libpq's multi-host URL over both,
   ``postgresql://postgres@127.0.0.1:P1,127.0.0.1:P2/postgres?target_session_attrs=read-write``:
   repo_db's engine (pool_pre_ping, connect retries with backoff) reaches whichever accepts writes;
3. ``--writers`` threads write continuously through repo_db's unit of work, each write one new row
   (a user with a unique e-mail, so a retry is idempotent). A write is *acknowledged* when its unit
   of work returned (COMMIT answered). A write whose unit failed with DatabaseUnavailableError was
   not acknowledged: the writer retries it (tenacity, exponential backoff); a DuplicateError on a
   retry means the lost answer's COMMIT had landed: acknowledged then;
4. after ``--before`` seconds the primary goes (fast or kill) and, at once, ``pg_ctl promote`` on
   the standby (the drill is the operator: no detection delay); writes go on ``--after`` seconds;
5. the promoted standby is read: every acknowledged e-mail must be there.

Printed per drill: acknowledged writes, lost (acknowledged, missing on the new primary), failed
attempts (retried), the promote time, the recovery time (primary stopped -> first acknowledged
write on the new primary), the longest gap between acknowledgements, and the write latency before
the failure (median, p99). Then the latency cost of synchronous replication measured apart: one
writer, one pair, replication switched between async and sync every ``--latency-window-s``
(interleaved, so both modes see the same machine load), and the sync/async ratio. Nothing is
asserted (the test is packages/db/tests/repo_db_tests/test_failover.py).

    nice -n 10 ./pants run benchmarks/failover.py -- --writers 8 --before 8 --after 8
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, text
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from repo_db import DatabaseUnavailableError, DuplicateError, unit_of_work
from repo_db.models import User
from repo_db.standby_pair import StandbyPair
from repo_db.testing import prepare_schema, settings_env

#: How long a writer keeps retrying one write before it counts as failed for good.
GIVE_UP_S = 60.0
#: stall-kill: the primary dies once this many writes were acknowledged during the stall...
STALL_ACKS = 20
#: ... or after this long.
STALL_S = 2.0


@dataclass
class Writer:
    name: str
    until: float = 0.0
    acked: list[str] = field(default_factory=list)
    ack_times: list[float] = field(default_factory=list)
    latency_ms: list[tuple[float, float]] = field(default_factory=list)  # (start, ms)
    failed_attempts: int = 0
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)

    def write(self, email: str) -> None:
        with unit_of_work() as session:
            session.add(User(email=email, password_hash="x", display_name="drill"))  # noqa: S106

    def once(self, email: str) -> None:
        def attempt() -> None:
            try:
                self.write(email)
            except DuplicateError:
                return  # an earlier attempt's COMMIT landed though its answer was lost
            except DatabaseUnavailableError as exc:
                self.failed_attempts += 1
                if len(self.errors) < 3:
                    self.errors.append(str(exc).splitlines()[0][:160])
                raise

        start = time.monotonic()
        try:
            for retry in Retrying(
                retry=retry_if_exception_type(DatabaseUnavailableError),
                wait=wait_exponential(multiplier=0.1, max=1.0),
                stop=stop_after_delay(GIVE_UP_S),
                reraise=True,
            ):
                with retry:
                    attempt()
        except DatabaseUnavailableError:
            self.gave_up += 1
            return
        done = time.monotonic()
        self.acked.append(email)
        self.ack_times.append(done)
        self.latency_ms.append((start, (done - start) * 1000))

    def run(self) -> None:
        n = 0
        while time.monotonic() < self.until:
            n += 1
            self.once(f"drill-{self.name}-{n}@example.com")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def drill(*, sync: bool, how: str, writers: int, before: float, after: float) -> dict[str, Any]:
    with StandbyPair(synchronous=sync) as pair:
        pair.wait_streaming()
        engine = create_engine(pair.primary_url)
        prepare_schema(engine)
        engine.dispose()
        with settings_env(DATABASE_URL=pair.multi_host_url(), DATABASE_READ_URL=None):
            team = [Writer(str(i)) for i in range(writers)]
            start = time.monotonic()
            for w in team:
                w.until = start + before + after
            threads = [threading.Thread(target=w.run, daemon=True) for w in team]
            for t in threads:
                t.start()
            time.sleep(before)
            if how == "stall-kill":
                # The standby stops receiving; the primary dies once writes were acknowledged
                # meanwhile (async), or after STALL_S at most (sync: commits wait, none acked).
                acked_before = sum(len(w.acked) for w in team)
                pair.stall_replication()
                deadline = time.monotonic() + STALL_S
                while time.monotonic() < deadline:
                    if sum(len(w.acked) for w in team) >= acked_before + STALL_ACKS:
                        break
                    time.sleep(0.01)
            failed_at = time.monotonic()
            if how in ("kill", "stall-kill"):
                pair.kill_primary()
            else:
                pair.stop_primary("fast")
            down_at = time.monotonic()
            pair.promote()
            promoted_at = time.monotonic()
            for t in threads:
                t.join(timeout=after + GIVE_UP_S + 30)
        survivor = create_engine(pair.standby_url)
        with survivor.connect() as conn:
            assert conn.execute(text("SELECT NOT pg_is_in_recovery()")).scalar_one()
            present = set(
                conn.execute(text("SELECT email FROM users WHERE email LIKE 'drill-%'")).scalars()
            )
        survivor.dispose()
    acked = [e for w in team for e in w.acked]
    acks = sorted(t for w in team for t in w.ack_times)
    after_ack = [t for t in acks if t > down_at]
    gaps = [b - a for a, b in itertools.pairwise(acks)]
    steady = [ms for w in team for s, ms in w.latency_ms if s < failed_at - 0.5]
    errors = [e for w in team for e in w.errors]
    return {
        "acked": len(acked),
        "lost": len(set(acked) - present),
        "unacked_present": len(present - set(acked)),
        "failed_attempts": sum(w.failed_attempts for w in team),
        "gave_up": sum(w.gave_up for w in team),
        "stop_s": down_at - failed_at,
        "promote_s": promoted_at - down_at,
        "recovery_s": (after_ack[0] - failed_at) if after_ack else float("nan"),
        "max_gap_s": max(gaps) if gaps else float("nan"),
        "p50_ms": statistics.median(steady) if steady else float("nan"),
        "p99_ms": _pct(steady, 0.99),
        "writes_per_s": len(steady) / max(before - 0.5, 0.1),
        "first_error": errors[0] if errors else "",
    }


def latency(*, windows: int, window_s: float) -> dict[str, list[float]]:
    """One writer on one pair, replication switched async/sync every ``window_s`` (live reload),
    ``windows`` times each: the two modes see the same machine load, interleaved."""
    samples: dict[str, list[float]] = {"async": [], "sync": []}
    with StandbyPair() as pair:
        pair.wait_streaming()
        engine = create_engine(pair.primary_url)
        prepare_schema(engine)
        engine.dispose()
        with settings_env(DATABASE_URL=pair.multi_host_url(), DATABASE_READ_URL=None):
            writer, n = Writer("lat"), 0
            for _ in range(windows):
                for mode in ("async", "sync"):
                    pair.set_synchronous(mode == "sync")
                    settle = time.monotonic() + 0.2  # every backend has re-read its config
                    end = settle + window_s
                    while time.monotonic() < end:
                        n += 1
                        start = time.monotonic()
                        writer.write(f"drill-lat-{n}@example.com")
                        if start > settle:
                            samples[mode].append((time.monotonic() - start) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=8, help="writing threads")
    parser.add_argument("--before", type=float, default=8.0, help="seconds before the failure")
    parser.add_argument("--after", type=float, default=8.0, help="seconds after it")
    parser.add_argument("--modes", default="async,sync", help="replication modes to drill")
    parser.add_argument(
        "--how", default="fast,kill,stall-kill", help="fast (pg_ctl stop -m fast), kill, stall-kill"
    )
    parser.add_argument(
        "--latency-windows", type=int, default=6, help="async/sync latency windows (0: none)"
    )
    parser.add_argument("--latency-window-s", type=float, default=1.5)
    args = parser.parse_args()
    os.environ.setdefault("NODE_ENV", "test")
    for mode in args.modes.split(","):
        for how in args.how.split(","):
            r = drill(
                sync=mode == "sync", how=how, writers=args.writers, before=args.before,
                after=args.after,
            )  # fmt: skip
            print(
                f"{mode:5} {how:10}: acked {r['acked']:5.0f}  LOST {r['lost']:.0f}  "
                f"failed attempts {r['failed_attempts']:.0f} (gave up {r['gave_up']:.0f})  "
                f"committed-unacked {r['unacked_present']:.0f}  stop {r['stop_s']:.2f}s  "
                f"promote {r['promote_s']:.2f}s  recovery {r['recovery_s']:.2f}s  "
                f"max gap {r['max_gap_s']:.2f}s  write p50 {r['p50_ms']:.1f} ms "
                f"p99 {r['p99_ms']:.1f} ms ({r['writes_per_s']:.0f}/s, {args.writers} writers)",
                flush=True,
            )
            if r["first_error"]:
                print(f"            first error: {r['first_error']}", flush=True)
    if args.latency_windows:
        lat = latency(windows=args.latency_windows, window_s=args.latency_window_s)
        a, s = lat["async"], lat["sync"]
        print(
            f"write latency, one writer, async/sync interleaved {args.latency_windows}x"
            f"{args.latency_window_s:g}s: async p50 {statistics.median(a):.2f} ms "
            f"p99 {_pct(a, 0.99):.2f} ms ({len(a)} writes), sync p50 {statistics.median(s):.2f} "
            f"ms p99 {_pct(s, 0.99):.2f} ms ({len(s)} writes); sync/async p50 "
            f"x{statistics.median(s) / statistics.median(a):.2f}, "
            f"p99 x{_pct(s, 0.99) / _pct(a, 0.99):.2f}"
        )
    print(f"load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
