"""Throttling and login floods against real server processes (`python -m repo_api`) and real
Redis: two processes share one limit, and a login flood leaves a logged-in bystander responsive.

Numbers are printed (run with `-- -s` to see them); the asserted bounds are deliberately generous
so that a busy 2-core machine cannot make them flake.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from repo_api_tests.helpers import serve_api

REDIS_URL = "redis://127.0.0.1:6379/0"
DEMO_LEARNER = {"email": "learner@example.com", "password": "demo-password"}
FLOOD_CLIENTS = 40
FLOOD_SECONDS = 8.0
# Bystander bounds during the flood. Measured on a 2-core machine shared with other test runs
# (load average 13): baseline median 227 ms; flood median 134 ms, p95 906 ms, max 928 ms. Before
# the login bulkhead one request took 5.0 s, and before Argon2 left the unit of work, 4 s medians.
BYSTANDER_P95_BOUND_S = 2.5
BYSTANDER_MAX_BOUND_S = 8.0


@pytest.fixture()
def redis_prefix() -> Iterator[str]:
    prefix = f"repo-api-procs-{uuid.uuid4().hex[:12]}"
    yield prefix
    connection = redis.Redis.from_url(REDIS_URL)
    keys = list(connection.scan_iter(f"*{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


def test_two_processes_share_the_login_limit(tmp_path: Path, redis_prefix: str) -> None:
    env = {
        "REDIS_URL": REDIS_URL,
        "API_RATE_LIMIT_KEY_PREFIX": redis_prefix,
        "API_LOGIN_FAILURES_PER_ACCOUNT": "6 per 15 minutes",
    }
    database = tmp_path / "shared.sqlite3"
    with (
        serve_api(tmp_path, sqlite_path=database, env=env, name="a") as first,
        serve_api(
            tmp_path, sqlite_path=database, env=env, args=("--no-migrate", "--no-seed"), name="b"
        ) as second,
    ):
        bad = {**DEMO_LEARNER, "password": "not-the-password"}
        statuses = [
            httpx.post(f"{base}/auth/login", json=bad, timeout=30).status_code
            for base in (first, second) * 3
        ]
        # Three failures per process: each process alone would still be under its limit of 6.
        assert statuses == [401] * 6
        for base in (first, second):
            blocked = httpx.post(f"{base}/auth/login", json=DEMO_LEARNER, timeout=30)
            assert blocked.status_code == 429, blocked.text
            assert int(blocked.headers["retry-after"]) >= 1
    print(f"\ntwo processes, one Redis window: {statuses} then 429 on both")


def test_an_owners_device_logs_in_through_one_process_while_guessed_at_through_another(
    tmp_path: Path, redis_prefix: str
) -> None:
    """OWASP device cookies across processes: 30 wrong passwords through process a lock
    untrusted clients out of the account in the shared Redis, while the owner's device token
    (issued by either process, one secret) logs in through process b."""
    env = {
        "REDIS_URL": REDIS_URL,
        "API_RATE_LIMIT_KEY_PREFIX": redis_prefix,
        "API_DEVICE_COOKIE_SECRET": f"procs-{uuid.uuid4().hex}",
        "API_LOGIN_FAILURES_PER_ACCOUNT": "10 per 15 minutes",
    }
    database = tmp_path / "shared.sqlite3"
    with (
        serve_api(tmp_path, sqlite_path=database, env=env, name="a") as attacked,
        serve_api(
            tmp_path, sqlite_path=database, env=env, args=("--no-migrate", "--no-seed"), name="b"
        ) as owners,
    ):
        first = httpx.post(f"{attacked}/auth/login", json=DEMO_LEARNER, timeout=30)
        assert first.status_code == 200, first.text
        device_token = first.json()["device_token"]
        statuses = Counter(
            httpx.post(
                f"{attacked}/auth/login",
                json={**DEMO_LEARNER, "password": f"guess-{i}"},
                timeout=30,
            ).status_code
            for i in range(30)
        )
        assert statuses == Counter({401: 10, 429: 20}), statuses
        for base in (attacked, owners):  # untrusted: refused through both processes
            refused = httpx.post(f"{base}/auth/login", json=DEMO_LEARNER, timeout=30)
            assert refused.status_code == 429, refused.text
        trusted = {**DEMO_LEARNER, "device_token": device_token}
        back = httpx.post(f"{owners}/auth/login", json=trusted, timeout=30)
        assert back.status_code == 200, back.text
        assert back.json()["user"]["email"] == DEMO_LEARNER["email"]
    print(f"\nattacker through a: {dict(statuses)}; owner's device through b: 200")


async def _flood(base: str, token: str) -> tuple[Counter[int], list[float], int]:
    stop = time.monotonic() + FLOOD_SECONDS
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    async with httpx.AsyncClient(
        base_url=base,
        timeout=60,
        limits=httpx.Limits(max_connections=FLOOD_CLIENTS + 5),
    ) as http:

        async def attacker(n: int) -> None:
            i = 0
            while time.monotonic() < stop:
                i += 1
                # Unknown and known accounts alike cost one Argon2 verification each.
                email = DEMO_LEARNER["email"] if i % 4 == 0 else f"nobody{n}-{i}@example.org"
                response = await http.post(
                    "/auth/login", json={"email": email, "password": f"guess-{n}-{i}"}
                )
                statuses[response.status_code] += 1

        async def bystander() -> None:
            headers = {"Authorization": f"Bearer {token}"}
            await asyncio.sleep(0.5)  # let the flood build up first
            while time.monotonic() < stop:
                began = time.perf_counter()
                response = await http.get("/users/me", headers=headers)
                latencies.append(time.perf_counter() - began)
                assert response.status_code == 200, response.text
                await asyncio.sleep(0.05)

        await asyncio.gather(bystander(), *(attacker(n) for n in range(FLOOD_CLIENTS)))
    return statuses, latencies, sum(statuses.values())


def test_login_flood_leaves_a_bystander_responsive(tmp_path: Path, redis_prefix: str) -> None:
    """40 clients post bad logins for 8 s with throttling effectively off (a distributed attack
    that the per-address limit would not catch), so every request costs a real Argon2 run."""
    env = {
        "REDIS_URL": REDIS_URL,
        "API_RATE_LIMIT_KEY_PREFIX": redis_prefix,
        "API_LOGIN_RATE_PER_ADDRESS": "100000/minute",
        "API_LOGIN_RATE_GLOBAL": "100000/minute",
        "API_LOGIN_FAILURES_PER_ACCOUNT": "100000/minute",
    }
    with serve_api(tmp_path, sqlite_path=tmp_path / "flood.sqlite3", env=env) as base:
        login = httpx.post(f"{base}/auth/login", json=DEMO_LEARNER, timeout=30)
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        baseline = []
        for _ in range(20):
            began = time.perf_counter()
            assert httpx.get(f"{base}/users/me", headers=headers, timeout=30).status_code == 200
            baseline.append(time.perf_counter() - began)

        statuses, latencies, total = asyncio.run(_flood(base, token))

    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(
        f"\nlogin flood: {FLOOD_CLIENTS} clients x {FLOOD_SECONDS:.0f} s -> {total} logins "
        f"({total / FLOOD_SECONDS:.1f}/s), statuses {dict(statuses)}\n"
        f"bystander GET /users/me: baseline median {statistics.median(baseline) * 1000:.0f} ms; "
        f"during the flood n={len(latencies)} median {statistics.median(latencies) * 1000:.0f} ms "
        f"p95 {p95 * 1000:.0f} ms max {max(latencies) * 1000:.0f} ms "
        f"(bounds: p95 < {BYSTANDER_P95_BOUND_S:.0f} s, max < {BYSTANDER_MAX_BOUND_S:.0f} s)"
    )
    assert total > 0 and set(statuses) <= {401}, statuses  # no 500, no pool exhaustion
    assert len(latencies) >= 10
    assert p95 < BYSTANDER_P95_BOUND_S
    assert max(latencies) < BYSTANDER_MAX_BOUND_S
