"""Two API instances behind a real HAProxy (tools/load_balancer.py), on PostgreSQL and Redis.

* One instance is SIGKILLed: once the balancer's health check has marked it DOWN, every request
  succeeds on the survivor. Fails if the health check or the redispatch is dropped from the
  configuration, or if an instance cannot serve on its own (state kept in one process).
* The log-in throttle is shared: a client over the limit is refused whichever instance it
  reaches, while another client (another address, forwarded by the balancer) is not. Fails if
  the throttle counts per process (memory storage: each instance would see half the attempts)
  or by the balancer's address (X-Forwarded-For not set or not trusted).
* Afterwards every process the test started (both instances, HAProxy) is gone.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from repo_db.seed import seed_demo
from repo_db.testing import prepare_schema, temporary_database
from tools import servers
from tools.load_balancer import HAProxy, start_api

LIMIT = 3  # log-ins per client address per minute in this test
DEMO_LEARNER = {"email": "learner@example.com", "password": "demo-password"}


@dataclass
class Cluster:
    balancer: HAProxy
    instances: dict[str, Any]  # name: Popen


@contextmanager
def two_instances_behind_haproxy(tmp_path: Path) -> Iterator[Cluster]:
    with ExitStack() as stack:
        engine = stack.enter_context(temporary_database("postgresql", tmp_path))
        prepare_schema(engine)
        seed_demo(engine)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "API_RATE_LIMIT_KEY_PREFIX": f"lb-test-{uuid.uuid4().hex[:8]}",
            "API_LOGIN_RATE_PER_ADDRESS": f"{LIMIT}/minute",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",  # the balancer's address
            "API_LOG_LEVEL": "warning",
        }
        instances, ports = {}, {}
        for name in ("api1", "api2"):
            ports[name], instances[name] = start_api(name, env, tmp_path / f"{name}.log")
            stack.callback(servers.stop_process, instances[name])
        balancer = stack.enter_context(HAProxy(ports))
        for name in ports:
            balancer.wait_status(name, "UP")
        yield Cluster(balancer, instances)


def _client(address: str) -> httpx.Client:
    """A client whose connections leave from ``address`` (another loopback address: another
    client as far as the balancer can tell)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def test_one_instance_killed_the_other_serves_and_the_throttle_is_shared(
    tmp_path: Path,
) -> None:
    with two_instances_behind_haproxy(tmp_path) as cluster:
        lb = cluster.balancer
        assert lb.process is not None
        groups = [lb.process.pid, *(proc.pid for proc in cluster.instances.values())]
        # Throttle first, while both instances serve: wrong passwords from 127.0.0.2.
        with _client("127.0.0.2") as guesser:
            attempts = [
                guesser.post(
                    f"{lb.url}/auth/login",
                    json={"email": f"nobody{n}@example.org", "password": "wrong-password"},
                )
                for n in range(LIMIT + 2)
            ]
        served_by = {r.headers.get("x-served-by") for r in attempts}
        assert served_by == {"api1", "api2"}, served_by  # round robin reached both
        statuses = [r.status_code for r in attempts]
        assert statuses == [401] * LIMIT + [429] * 2, statuses
        with _client("127.0.0.3") as other:  # another client is not refused for the first one
            refused_other = other.post(
                f"{lb.url}/auth/login",
                json={"email": "nobody@example.org", "password": "wrong-password"},
            )
        assert refused_other.status_code == 401, refused_other.text

        with _client("127.0.0.1") as learner:
            login = learner.post(f"{lb.url}/auth/login", json=DEMO_LEARNER)
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            assert learner.get(f"{lb.url}/assessments?limit=5", headers=auth).status_code == 200

            victim = cluster.instances["api1"]
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
            lb.wait_status("api1", "DOWN")  # the short grace: two failed health checks
            after = [learner.get(f"{lb.url}/assessments?limit=5", headers=auth) for _ in range(20)]
        assert [r.status_code for r in after] == [200] * 20, [r.text[:200] for r in after]
        assert {r.headers.get("x-served-by") for r in after} == {"api2"}
        assert all(servers.group_members(pgid) for pgid in groups[:1] + groups[2:])
    # Every process the test started is gone, and the balancer's directory with it.
    assert [pgid for pgid in groups if servers.group_members(pgid)] == []
    assert not lb.dir.exists()
