"""``check_health``: one cheap round trip plus the migration state, never raising."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.pool import QueuePool

from repo_db._engine import get_engine
from repo_db._errors import RepoDbError
from repo_db._routing import replica_status
from repo_db.config import db_type_of, redact
from repo_db.migrate import head_revision

Status = Literal["ok", "degraded", "down"]


@dataclass(frozen=True)
class HealthReport:
    status: Status
    latency_ms: float | None
    db_type: str | None
    url: str | None
    current_revision: str | None
    head_revision: str | None
    migrations_current: bool
    pool: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: The read replica (DATABASE_READ_URL): state ok / lagging / down / not_configured, its lag
    #: in seconds. A replica that is down or behind does not change ``status``: reads fall back to
    #: the primary (repo_db._routing).
    replica: dict[str, Any] = field(default_factory=lambda: {"state": "not_configured"})

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """What both apps' ``/readyz`` answer: ready (200) or not (503), and the body. The
        replica is reported but never makes an app unready: reads fall back to the primary."""
        ready = self.status == "ok" and self.migrations_current
        body = {
            "status": "ready" if ready else "not_ready",
            "database": self.status,
            "db_type": str(self.db_type),
            "migrations_current": self.migrations_current,
            "latency_ms": self.latency_ms,
            "replica": {
                "state": self.replica.get("state"),
                "lag_seconds": self.replica.get("lag_seconds"),
            },
        }
        return ready, body


def pool_stats(engine: Engine) -> dict[str, Any]:
    pool = engine.pool
    stats: dict[str, Any] = {"class": type(pool).__name__}
    if isinstance(pool, QueuePool):
        stats.update(
            size=pool.size(),
            checked_in=pool.checkedin(),
            checked_out=pool.checkedout(),
            overflow=pool.overflow(),
        )
    return stats


def _first_line(exc: BaseException) -> str:
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return message[0] if message else type(exc).__name__


def check_health(engine: Engine | None = None, *, replica: bool | None = None) -> HealthReport:
    """``ok``: reachable and migrated to head; ``degraded``: reachable but migrations pending;
    ``down``: unreachable or misconfigured (``error`` says why, without the password).

    ``replica`` (default: when ``engine`` is the configured one) also measures the read
    replica's state and lag now (``HealthReport.replica``)."""
    head = head_revision()
    try:
        target = engine or get_engine()
    except RepoDbError as exc:
        return HealthReport("down", None, None, None, None, head, False, error=str(exc))
    url = redact(target.url)
    db_type = db_type_of(target.url)
    start = time.perf_counter()
    try:
        with target.connect() as conn:
            conn.execute(text("SELECT 1"))
            latency_ms = round((time.perf_counter() - start) * 1000.0, 3)
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:  # - a health check reports, it does not raise
        return HealthReport(
            "down", None, db_type, url, None, head, False, pool_stats(target), _first_line(exc)
        )
    current_ok = current == head
    with_replica = engine is None if replica is None else replica
    replica_report = replica_status().to_dict() if with_replica else {"state": "not_configured"}
    return HealthReport(
        status="ok" if current_ok else "degraded",
        latency_ms=latency_ms,
        db_type=db_type,
        url=url,
        current_revision=current,
        head_revision=head,
        migrations_current=current_ok,
        pool=pool_stats(target),
        error=None if current_ok else f"database at {current}, code expects {head}",
        replica=replica_report,
    )


__all__ = ["HealthReport", "check_health", "pool_stats"]
