"""Where reads go with a streaming standby and read-your-writes (issue 19): the fraction that still
reaches the replica under the scale run's mix, for several replication lags.

A private primary and hot standby (``repo_db.standby_pair``), the demo data, and the API served by
uvicorn in a thread of this process (so repo_db's routing counters are readable here). Client
threads follow benchmarks/scale_locustfile.py's mix and weights, each with its own log-in session:
learners (12) browse the catalogue (4), read their history (1), take an attempt (3: open it, start,
answer every question, submit, read the result); authors (2) edit their draft (3) and list theirs
(2); admins (1) search users (2) and open statistics (1); think time 0.5-2 s (learners), 1-3 s.

For each ``recovery_min_apply_delay`` (the first is the baseline: the standby's natural lag), it
prints the read-only units of work by destination: the replica, the primary because the client's
own write was not replayed yet (read-your-writes), because the standby lagged beyond
DATABASE_READ_MAX_LAG_SECONDS, or because it was down; plus GET latency min/median/max and the
load average. Nothing is asserted.

    ./pants run benchmarks/replica_reads.py -- --clients 15 --duration 40 --delays 0,200ms,2s
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import threading
import time
from collections import Counter
from typing import Any

import httpx
import uvicorn

from repo_api.app import create_app
from repo_api.config import ApiSettings
from repo_db import dispose_engines, get_engine, routing_counts
from repo_db.seed import seed_demo
from repo_db.standby_pair import StandbyPair, free_port
from repo_db.testing import prepare_schema, replica_env

PASSWORD = "demo-password"  # noqa: S105 - the dev seed's documented demo password
ROLES = ("learner",) * 12 + ("author",) * 2 + ("admin",)


class Client(threading.Thread):
    def __init__(self, base: str, role: str, seed: int) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=base, timeout=60)
        self.role, self.until, self.rng = role, 0.0, random.Random(seed)
        self.get_ms: list[float] = []
        self.errors = 0
        self.writes = 0

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        start = time.perf_counter()
        response = self.http.request(method, path, **kwargs)
        if method == "GET":
            self.get_ms.append((time.perf_counter() - start) * 1000)
        else:
            self.writes += 1
        if response.status_code >= 400:
            self.errors += 1
        return response

    def prepare(self) -> None:
        """Log in (Argon2: slow on purpose) and find the catalogue, before the clock starts."""
        login = self.http.post(
            "/auth/login", json={"email": f"{self.role}@example.com", "password": PASSWORD}
        )
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        listed = self.http.get("/assessments?limit=20").json()["items"]
        self.catalogue = [a["id"] for a in listed if not a.get("adaptive")] or [listed[0]["id"]]
        self.draft = None
        if self.role == "author":
            created = self.http.post("/assessments", json={"title": "Replica draft"})
            self.draft = created.json()["id"]

    def run(self) -> None:
        while time.monotonic() < self.until:
            getattr(self, self.role)(self.catalogue, self.draft)
            low, high = (0.5, 2.0) if self.role == "learner" else (1.0, 3.0)
            time.sleep(self.rng.uniform(low, high))

    def learner(self, catalogue: list[int], _draft: int | None) -> None:
        task = self.rng.choices(("browse", "history", "take"), weights=(4, 1, 3))[0]
        aid = self.rng.choice(catalogue)
        if task == "browse":
            self.call("GET", "/assessments?limit=20")
            self.call("GET", f"/assessments/{aid}")
        elif task == "history":
            self.call("GET", "/attempts?limit=20")
            self.call("GET", "/users/me")
        else:
            detail = self.call("GET", f"/assessments/{aid}").json()
            start = self.call("POST", f"/assessments/{aid}/attempts")
            if start.status_code != 201:
                return
            attempt = start.json()["id"]
            for question in detail.get("questions", []):
                self.call("PUT", f"/attempts/{attempt}/responses/{question['id']}",
                          json=_answer(question, self.rng))  # fmt: skip
            self.call("POST", f"/attempts/{attempt}/submit")
            self.call("GET", f"/attempts/{attempt}/result")

    def author(self, _catalogue: list[int], draft: int | None) -> None:
        if self.rng.random() < 0.6:
            self.call("PATCH", f"/assessments/{draft}", json={"description": str(time.time())})
        else:
            self.call("GET", "/assessments/mine?limit=20")

    def admin(self, catalogue: list[int], _draft: int | None) -> None:
        if self.rng.random() < 2 / 3:
            self.call("GET", "/admin/users?q=example&limit=25")
        else:
            self.call("GET", f"/assessments/{self.rng.choice(catalogue)}/stats")


def _answer(question: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    options = [o["id"] for o in question.get("options", [])]
    if question["kind"] == "single_choice":
        return {"selected_option_ids": [rng.choice(options)]}
    if question["kind"] == "multiple_choice":
        return {"selected_option_ids": rng.sample(options, 2)}
    if question["kind"] == "numeric":
        return {"numeric_value": rng.randint(0, 30)}
    return {"text_value": "an answer"}


def run_once(pair: StandbyPair, delay: str, clients: int, duration: float) -> dict[str, Any]:
    pair.set_apply_delay(delay)
    time.sleep(1)
    port = free_port()
    settings = ApiSettings(
        rate_limit_storage="memory://",
        login_rate_per_address="100000/minute",
        login_rate_global="100000/minute",
        login_failures_per_account="100000/minute",
        login_failures_per_device="100000/minute",
        log_level="warning",
    ).overriding_environment(production=False)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings=settings), port=port, log_level="warning",
                       access_log=False)  # fmt: skip
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    workers = [
        Client(f"http://127.0.0.1:{port}", ROLES[i % len(ROLES)], seed=i) for i in range(clients)
    ]
    preparing = [threading.Thread(target=w.prepare) for w in workers]
    for thread_ in preparing:
        thread_.start()
    for thread_ in preparing:
        thread_.join()
    before = Counter(routing_counts())
    until = time.monotonic() + duration
    for worker in workers:
        worker.until = until
        worker.start()
    for worker in workers:
        worker.join()
    server.should_exit = True
    thread.join()
    counts = Counter(routing_counts())
    counts.subtract(before)
    gets = sorted(ms for w in workers for ms in w.get_ms)
    return {
        "delay": delay,
        "counts": dict(counts),
        "reads": sum(counts.values()),
        "writes": sum(w.writes for w in workers),
        "errors": sum(w.errors for w in workers),
        "get_ms": (gets[0], statistics.median(gets), gets[-1]) if gets else (0, 0, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=15)
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--delays", default="0,200ms,2s", help="comma-separated; first: baseline")
    parser.add_argument("--max-lag", default="10", help="DATABASE_READ_MAX_LAG_SECONDS")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    load_before = os.getloadavg()
    with StandbyPair() as pair:
        pair.wait_streaming()
        with replica_env(pair, DATABASE_READ_MAX_LAG_SECONDS=args.max_lag):
            prepare_schema(get_engine())
            seed_demo(get_engine())
            rows = [
                run_once(pair, delay, args.clients, args.duration)
                for delay in args.delays.split(",")
            ]
            dispose_engines()
    after = os.getloadavg()
    print(f"load average (1/5/15 min) before: {load_before}, after: {after}")
    print(f"{args.clients} clients, {args.duration:.0f} s per lag, max lag {args.max_lag} s")
    header = "apply delay | reads | replica | primary: own write | lagging | down | writes | errors"
    print(header + " | GET ms min/median/max")
    for row in rows:
        c, n = row["counts"], max(row["reads"], 1)
        share = {k: f"{100 * c.get(k, 0) / n:.1f}%" for k in c}
        lo, med, hi = row["get_ms"]
        print(
            f"{row['delay']:>11} | {row['reads']:5d} | {share.get('replica', '0%'):>7} | "
            f"{share.get('primary_behind', '0%'):>18} | {share.get('primary_lag', '0%'):>7} | "
            f"{share.get('primary_down', '0%'):>4} | {row['writes']:6d} | {row['errors']:6d} | "
            f"{lo:.1f}/{med:.1f}/{hi:.1f}"
        )


if __name__ == "__main__":
    main()
