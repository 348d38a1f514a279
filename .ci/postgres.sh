#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 for the ledger tests and print
#   export GEP_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:<port>/gep_test
# on stdout (everything else goes to stderr), so that CI can run:
#   eval "$(.ci/postgres.sh)"
# Installs the server with apt-get when it is missing (root only). Idempotent: a second call
# reuses the running cluster. Runs the server as the 'postgres' user when called as root.
# Settings: GEP_PG_DIR (data folder, default /tmp/gep-test-postgres), GEP_PG_PORT (default 54329).
# Stop it with: pg_ctl -D "$GEP_PG_DIR" stop   (as the same user)
set -euo pipefail

PGDIR="${GEP_PG_DIR:-/tmp/gep-test-postgres}"
PORT="${GEP_PG_PORT:-54329}"
DB=gep_test
log() { echo "postgres.sh: $*" >&2; }

find_bin() {
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
    if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
}

BIN="$(find_bin)"
if [ -z "$BIN" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "PostgreSQL server binaries not found and not root: install the 'postgresql' package"; exit 1
    fi
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    BIN="$(find_bin)"
    [ -n "$BIN" ] || { log "postgresql installed but initdb not found"; exit 1; }
fi

# run the server as a non-root user
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres >&2
    fi
    run() { runuser -u postgres -- "$@"; }
    mkdir -p "$PGDIR"
    chown postgres: "$PGDIR"
else
    run() { "$@"; }
    mkdir -p "$PGDIR"
fi
chmod 700 "$PGDIR"

if [ ! -f "$PGDIR/PG_VERSION" ]; then
    log "initdb $PGDIR"
    run "$BIN/initdb" -D "$PGDIR" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
fi

if ! run "$BIN/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:$PORT"
    run "$BIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -t 60 \
        -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null \
        || { log "server failed to start; last lines of $PGDIR/server.log:"; tail -n 20 "$PGDIR/server.log" >&2; exit 1; }
fi

PSQL=("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
for _ in $(seq 1 50); do
    if "${PSQL[@]}" -c "SELECT 1" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
if [ "$("${PSQL[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    "${PSQL[@]}" -c "CREATE DATABASE $DB" >/dev/null
fi
log "ready: $DB on 127.0.0.1:$PORT (data $PGDIR)"
echo "export GEP_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PORT/$DB"
