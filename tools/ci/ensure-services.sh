#!/usr/bin/env bash
# Start the local services the test suite needs when they are not already up; fail loudly otherwise.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432

postgres_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "ensure-services: PostgreSQL client tools are missing; install them: apt-get install -y postgresql" >&2
  exit 1
fi
if ! postgres_up; then
  echo "ensure-services: PostgreSQL is not accepting connections on $PG_HOST:$PG_PORT; starting it"
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do postgres_up && break; sleep 1; done
fi
if ! postgres_up; then
  echo "ensure-services: PostgreSQL did not start on $PG_HOST:$PG_PORT; the database tests cannot run." >&2
  exit 1
fi
echo "ensure-services: PostgreSQL is up on $PG_HOST:$PG_PORT"

# Redis for the API's shared login throttle (tests use their own key prefixes).
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! command -v redis-server >/dev/null 2>&1; then
  echo "ensure-services: installing redis (Debian package)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }; then
    echo "ensure-services: cannot install redis-server (apt-get install -y redis-server failed)" >&2
    exit 1
  fi
fi
if ! redis_up; then
  echo "ensure-services: Redis is not answering on 127.0.0.1:6379; starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
fi
if ! redis_up; then
  echo "ensure-services: Redis did not start on 127.0.0.1:6379; the throttling tests cannot run." >&2
  exit 1
fi
echo "ensure-services: Redis is up on 127.0.0.1:6379"

# Headless Chromium for the web UI's browser tests (apps/web:browser): the Debian package, never
# `playwright install` (its download fails on these machines). Installed once, then a no-op.
if ! command -v chromium >/dev/null 2>&1; then
  echo "ensure-services: chromium is missing; installing the Debian package"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
    || ! command -v chromium >/dev/null 2>&1; then
    echo "ensure-services: could not install chromium (apt-get install -y chromium); the browser tests cannot run." >&2
    exit 1
  fi
fi
echo "ensure-services: chromium is $(command -v chromium) ($(chromium --version 2>/dev/null | head -n1))"

# PgBouncer in transaction mode (Neon's pooled endpoint) for packages/db's test_pgbouncer.py.
PGBOUNCER_PORT="${PGBOUNCER_PORT:-6432}"
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  echo "ensure-services: installing pgbouncer (Debian package)"
  if ! { apt-get install -y -qq pgbouncer >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null; }; }; then
    echo "ensure-services: cannot install pgbouncer (apt-get install -y pgbouncer failed)" >&2
    exit 1
  fi
fi
if ! "$(dirname "${BASH_SOURCE[0]}")/../pgbouncer/start" --port "$PGBOUNCER_PORT" --dir "${TMPDIR:-/tmp}/repo-ci-pgbouncer"; then
  echo "ensure-services: PgBouncer did not start on 127.0.0.1:$PGBOUNCER_PORT" >&2
  exit 1
fi
echo "ensure-services: PgBouncer is up on 127.0.0.1:$PGBOUNCER_PORT (transaction mode)"

# HAProxy for tests/test_load_balancer.py and benchmarks/lb.py (several API instances behind a real
# balancer). Only the binary: each test writes its own configuration and starts its own process.
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  echo "ensure-services: haproxy is missing; installing the Debian package"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }; }; then
    echo "ensure-services: could not install haproxy (apt-get install -y haproxy); the load-balancer test cannot run." >&2
    exit 1
  fi
fi
echo "ensure-services: haproxy is $(command -v haproxy || echo /usr/sbin/haproxy) ($( (haproxy -v 2>/dev/null || /usr/sbin/haproxy -v) | head -n1))"
