"""Read routing to a streaming standby: read-your-writes, a lag bound, and outage fallback.

A read-only unit of work of its own goes to ``DATABASE_READ_URL`` (a hot standby) only when all
of these hold, else to the primary (never an error because of the standby):

1. **The standby answers.** A failed connect (refused, timeout) sends the read to the primary at
   once and marks the standby down for ``DATABASE_READ_RETRY_SECONDS``: meanwhile no read even
   tries it, so an outage costs one failed connect per process per period, not one per read.
2. **It is not too far behind**: its lag is at most ``DATABASE_READ_MAX_LAG_SECONDS``. Lag is 0
   when it has replayed all the WAL it received from a live walreceiver, else the age of the
   last transaction it replayed (an over-estimate after an idle spell: safe, it only sends reads
   to the primary a little longer).
3. **Read-your-writes**: when the unit has a ``client`` (the adapters pass the request's session:
   the SHA-256 of its bearer token or session cookie), the standby must have replayed the
   primary's WAL position taken right after that client's last writing unit committed
   (``pg_current_wal_lsn()`` after COMMIT: the commit record is behind it). The comparison with
   ``pg_last_wal_replay_lsn()`` is exact: no clock, no guessed window.

Why commit positions per client (and not a stickiness window, or a position in a cookie): a
window has to be longer than the worst lag to be safe, and then sends every writer's reads to
the primary for that long even when the standby is 5 ms behind; the position costs one round trip
per writing unit and is exact. It is kept server-side, keyed by the client's session, so it works
for every client (curl, the SPA, the web's cookies) with no change to the HTTP contract: in Redis
(``REDIS_URL``, shared by every API and web process, with a TTL) or, without Redis, in a
process-local map (one process: development). A log-in, whose new session did not exist when its
unit began, adds the new session with ``remember_writes``. If the store cannot answer, reads with
a client go to the primary (correct, only slower).

The standby's replay position and lag are measured on the connection the read is about to use, at
most every ``DATABASE_READ_STATUS_TTL_MS`` per process, so most reads pay no extra round trip.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, Engine, text

from repo_db._engine import get_engine, get_read_engine, replica_configured
from repo_db.config import DbSettings, get_settings, redact

logger = logging.getLogger("repo_db.routing")

ReplicaState = Literal["ok", "lagging", "down", "not_configured"]

_STATUS_SQL = text(
    """
    SELECT pg_is_in_recovery(),
           pg_last_wal_replay_lsn()::text,
           CASE
             WHEN NOT pg_is_in_recovery() THEN 0.0
             WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                  AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0.0
             ELSE COALESCE(
               EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()),
               1e9)::float8
           END
    """
)
_LSN_SQL = "SELECT pg_current_wal_lsn()::text"


def parse_lsn(value: str) -> int:
    """``'16/B374D848'`` as one integer (the two hex halves of a 64-bit WAL position)."""
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass(frozen=True)
class ReplicaStatus:
    """What repo_db knows about the standby: ``lag_seconds`` is None when it could not tell."""

    state: ReplicaState
    lag_seconds: float | None = None
    replay_lsn: int | None = None  # None: down, or not a standby (then no read-your-writes)
    error: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------- positions per client


class PositionStore(Protocol):
    def get(self, client: str) -> int | None: ...

    def put(self, client: str, lsn: int) -> None: ...


class LocalPositions:
    """Process-local positions with a TTL (no Redis: one process, development)."""

    def __init__(self, ttl_s: float, max_entries: int = 100_000) -> None:
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._items: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def get(self, client: str) -> int | None:
        item = self._items.get(client)
        if item is None or item[1] < time.monotonic():
            return None
        return item[0]

    def put(self, client: str, lsn: int) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._items) >= self.max_entries:
                self._items = {k: v for k, v in self._items.items() if v[1] >= now}
            current = self._items.get(client)
            if current is None or current[1] < now or current[0] < lsn:
                self._items[client] = (lsn, now + self.ttl_s)


# Keep the larger position: two writing requests of one client may finish out of order.
_PUT_MAX = """
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
"""


class RedisPositions:
    """Positions in Redis, shared by every process; fixed-width hex so strings compare as LSNs."""

    PREFIX = "repo_db:ryw:"

    def __init__(self, url: str, ttl_s: int) -> None:
        import redis

        self.ttl_s = ttl_s
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._put = self._redis.register_script(_PUT_MAX)

    def get(self, client: str) -> int | None:
        value: Any = self._redis.get(self.PREFIX + client)  # the sync client: bytes or None
        return int(value, 16) if value else None

    def put(self, client: str, lsn: int) -> None:
        self._put(keys=[self.PREFIX + client], args=[f"{lsn:016X}", self.ttl_s])


# ---------------------------------------------------------------------- the standby


class Router:
    """The standby's cached status and down-marking, one per replica engine per process."""

    def __init__(self, engine: Engine, settings: DbSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.positions: PositionStore = (
            RedisPositions(settings.redis_url, settings.database_read_your_writes_ttl_seconds)
            if settings.redis_url
            else LocalPositions(settings.database_read_your_writes_ttl_seconds)
        )
        self._status: ReplicaStatus | None = None
        self._measured_at = float("-inf")
        self._down_until = float("-inf")
        self.counts = {"replica": 0, "primary_behind": 0, "primary_lag": 0, "primary_down": 0}

    def _mark_down(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self.settings.database_read_retry_seconds
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["error"])[0]
        self._status = ReplicaStatus("down", error=first, url=redact(self.engine.url))
        self._measured_at = time.monotonic()
        logger.warning(
            "db.replica_down url=%s retry_s=%s error=%s",
            redact(self.engine.url),
            self.settings.database_read_retry_seconds,
            first,
        )

    def measure(self, conn: Connection) -> ReplicaStatus:
        in_recovery, replay, lag = conn.execute(_STATUS_SQL).one()
        conn.commit()  # end SQLAlchemy's autobegun transaction: the unit begins its own
        lag = round(float(lag), 3)
        state: ReplicaState = (
            "ok" if lag <= self.settings.database_read_max_lag_seconds else "lagging"
        )
        status = ReplicaStatus(
            state,
            lag_seconds=lag,
            replay_lsn=parse_lsn(replay) if in_recovery and replay else None,
            url=redact(self.engine.url),
        )
        self._status, self._measured_at = status, time.monotonic()
        return status

    def connection_for(self, client: str | None) -> Connection | None:
        """An open connection to the standby if it may serve this read, else None."""
        if time.monotonic() < self._down_until:
            self.counts["primary_down"] += 1
            return None
        required = None
        if client is not None:
            try:
                required = self.positions.get(client)
            except Exception as exc:  # the store is down: be correct, read the primary
                logger.warning("db.read_your_writes_store_error error=%s", exc)
                self.counts["primary_behind"] += 1
                return None
        try:
            conn = self.engine.connect()
            # As the read-only unit will run it: statements in autocommit, no BEGIN round trip.
            conn.execution_options(isolation_level="AUTOCOMMIT")
        except Exception as exc:  # refused, timed out, DNS...: the primary serves the read
            self._mark_down(exc)
            self.counts["primary_down"] += 1
            return None
        try:
            status = self._status
            stale = (
                time.monotonic() - self._measured_at
                > self.settings.database_read_status_ttl_ms / 1000
            )
            if status is None or stale or status.state == "down":
                status = self.measure(conn)
            if required is not None and (status.replay_lsn is None or status.replay_lsn < required):
                # Measured a moment ago and still behind: look again once before giving up.
                if not stale:
                    status = self.measure(conn)
                if status.replay_lsn is None or status.replay_lsn < required:
                    self.counts["primary_behind"] += 1
                    conn.close()
                    return None
            if status.state != "ok":
                self.counts["primary_lag"] += 1
                conn.close()
                return None
        except Exception as exc:
            conn.invalidate()
            conn.close()
            self._mark_down(exc)
            self.counts["primary_down"] += 1
            return None
        self.counts["replica"] += 1
        return conn

    def status(self, *, fresh: bool = False) -> ReplicaStatus:
        if not fresh and self._status is not None:
            return self._status
        try:
            with self.engine.connect() as conn:
                return self.measure(conn)
        except Exception as exc:
            self._mark_down(exc)
            assert self._status is not None
            return self._status

    def remember(self, clients: Iterable[str], lsn: int) -> None:
        for client in clients:
            try:
                self.positions.put(client, lsn)
            except Exception as exc:  # reads of this client then go to the primary (store down)
                logger.warning("db.read_your_writes_store_error error=%s", exc)


_routers: weakref.WeakKeyDictionary[Engine, Router] = weakref.WeakKeyDictionary()
_routers_lock = threading.Lock()


def router() -> Router | None:
    """The process's router for the configured replica, or None (no replica: no routing)."""
    if not replica_configured():
        return None
    engine = get_read_engine()
    found = _routers.get(engine)
    if found is None:
        with _routers_lock:
            found = _routers.get(engine)
            if found is None:
                found = _routers[engine] = Router(engine, get_settings())
    return found


def replica_connection(client: str | None) -> Connection | None:
    """For a read-only unit of its own: a standby connection, or None to use the primary."""
    found = router()
    return found.connection_for(client) if found is not None else None


def records_positions(engine: Engine) -> bool:
    """Whether a writing unit on ``engine`` must record its commit position (a replica is set
    and the unit runs on the configured PostgreSQL primary)."""
    return replica_configured() and engine.dialect.name == "postgresql" and engine is get_engine()


def record_commit(conn: Connection, clients: Iterable[str]) -> None:
    """After COMMIT, on the same connection: remember the primary's WAL position for ``clients``."""
    found = router()
    if found is None:
        return
    try:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        lsn = parse_lsn(conn.exec_driver_sql(_LSN_SQL).scalar_one())
    except Exception as exc:  # the write is committed: log, never fail the request here
        logger.warning("db.commit_position_error error=%s", exc)
        return
    found.remember(clients, lsn)


def replica_status(*, fresh: bool = True) -> ReplicaStatus:
    """The standby's state and lag (measured now unless ``fresh=False``): health and /readyz."""
    found = router()
    if found is None:
        return ReplicaStatus("not_configured")
    return found.status(fresh=fresh)


def routing_counts() -> dict[str, int]:
    """Where this process's read-only units went (benchmarks): replica or primary and why."""
    found = router()
    return dict(found.counts) if found is not None else {}


__all__ = [
    "ReplicaStatus",
    "parse_lsn",
    "record_commit",
    "records_positions",
    "replica_connection",
    "replica_status",
    "routing_counts",
]
