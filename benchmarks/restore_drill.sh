#!/usr/bin/env bash
# Backup and restore drill (docs/operations.md): seed a database, pg_dump it (custom format),
# pg_restore it into a NEW database, compare every table's row count, print the timings.
#
#   PYTHON=dist/export/python/virtualenvs/python-default/3.11.7/bin/python \
#     bash benchmarks/restore_drill.sh [USERS=100000]
#
# Uses the local server (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 postgres); both databases
# are dropped at the end. Exit status 1 if any count differs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
users="${1:-100000}"
python="${PYTHON:-python3}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
suffix="$(date +%s)_$$"
src="drill_src_$suffix" dst="drill_dst_$suffix"
dump="$(mktemp -d)/drill.dump"
cleanup() { dropdb --if-exists "$src"; dropdb --if-exists "$dst"; rm -rf "$(dirname "$dump")"; }
trap cleanup EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
createdb "$src"
repo_db() {
  PYTHONPATH=packages/db/src DB_LOG_QUERIES=0 "$python" -m repo_db.cli \
    --url "postgresql://$PGUSER@$PGHOST:$PGPORT/$src" "$@" >/dev/null
}
repo_db migrate up
t0=$(now)
repo_db seed --users "$users"
t1=$(now)
pg_dump -Fc -f "$dump" "$src"
t2=$(now)
createdb "$dst"
pg_restore -j 2 --no-owner -d "$dst" "$dump"
t3=$(now)
echo "seed $users users: $(secs "$t0" "$t1") s; pg_dump -Fc: $(secs "$t1" "$t2") s" \
  "($(du -h "$dump" | cut -f1)); pg_restore -j 2 into a new database: $(secs "$t2" "$t3") s"

tables=$(psql -Atq -d "$src" -c "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
status=0
printf '%-24s %12s %12s\n' table source restored
for t in $tables; do
  a=$(psql -Atq -d "$src" -c "SELECT count(*) FROM \"$t\"")
  b=$(psql -Atq -d "$dst" -c "SELECT count(*) FROM \"$t\"")
  flag=""; [ "$a" = "$b" ] || { flag="  DIFFERENT"; status=1; }
  printf '%-24s %12s %12s%s\n' "$t" "$a" "$b" "$flag"
done
rev_a=$(psql -Atq -d "$src" -c "SELECT version_num FROM alembic_version")
rev_b=$(psql -Atq -d "$dst" -c "SELECT version_num FROM alembic_version")
echo "alembic revision: source $rev_a, restored $rev_b"
[ "$rev_a" = "$rev_b" ] || status=1
echo "database sizes: source $(psql -Atq -d "$src" -c "SELECT pg_size_pretty(pg_database_size('$src'))"), restored $(psql -Atq -d "$dst" -c "SELECT pg_size_pretty(pg_database_size('$dst'))")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "restore drill: $([ $status = 0 ] && echo 'every count matches' || echo 'MISMATCH')"
exit $status
