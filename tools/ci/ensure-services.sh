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

# Headless Chromium for the real-browser tests (Debian's package; `playwright install` cannot
# download here). Installed once; a machine where it cannot be installed fails here, loudly.
if ! command -v chromium >/dev/null 2>&1; then
  echo "ensure-services: chromium is missing; installing it from Debian packages"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; then
    echo "ensure-services: could not install chromium; the browser tests cannot run." >&2
    exit 1
  fi
fi
echo "ensure-services: $(chromium --version 2>/dev/null || echo chromium) is installed"
