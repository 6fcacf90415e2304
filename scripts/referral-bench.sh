#!/usr/bin/env bash
# Issue 3's figures: referrals created per second at 32 concurrent clients on SQLite and
# PostgreSQL (every 201 durable; acknowledged must equal stored), and how long a receipt
# check takes for valid, unknown and malformed receipts.
# Usage: scripts/referral-bench.sh [SECONDS]   (traffic only to 127.0.0.1; bounded)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-15}"
CLIENTS=32
PORT=18090
PG_ADMIN="${SIGNPOST_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3; }
cargo build --release --quiet --bin signpost --example referral_load

TMP="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

start_server() { # $1 = DATABASE_URL
  DATABASE_URL="$1" SIGNPOST_DATA_DIR="$TMP/data" SIGNPOST_LISTEN="127.0.0.1:$PORT" \
  SIGNPOST_LOG=warn SIGNPOST_DATA_KEY="$(printf 'ab%.0s' $(seq 32))" \
  SIGNPOST_REFERRALS_PER_CLIENT_HOUR=1000000000 SIGNPOST_REFERRALS_PER_MINUTE=1000000000 \
  SIGNPOST_RECEIPT_FAILURES=1000000000 SIGNPOST_RECEIPT_SLOWDOWN_AFTER=1000000000 \
  SIGNPOST_DB_MAX_CONNECTIONS=16 \
    ./target/release/signpost serve 2>"$TMP/server.log" &
  SERVER_PID=$!
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server did not start:"; cat "$TMP/server.log"; exit 1
}

stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

bench() { # $1 = label, $2 = DATABASE_URL, $3 = command that prints the stored count
  echo "== $1"
  start_server "$2"
  out="$(./target/release/examples/referral_load create "http://127.0.0.1:$PORT" "$CLIENTS" "$SECONDS_PER_RUN")"
  echo "$out"
  acknowledged="$(echo "$out" | sed -n 's/^acknowledged=//p')"
  stop_server
  stored="$(eval "$3")"
  echo "acknowledged=$acknowledged stored=$stored"
  [ "$acknowledged" = "$stored" ] || { echo "MISMATCH: acknowledged != stored"; exit 1; }
  start_server "$2"
  echo "-- receipt checks, $CLIENTS clients (saturating both cores)"
  ./target/release/examples/referral_load receipts "http://127.0.0.1:$PORT" "$CLIENTS" 5
  echo "-- receipt checks, 4 clients"
  ./target/release/examples/referral_load receipts "http://127.0.0.1:$PORT" 4 5
  stop_server
}

mkdir -p "$TMP/data"
bench "SQLite (WAL, synchronous=FULL)" "sqlite://$TMP/data/bench.db?mode=rwc" \
  "sqlite3 '$TMP/data/bench.db' 'SELECT COUNT(*) FROM referrals'"

DB="signpost_bench_$$"
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
PG_URL="${PG_ADMIN%/*}/$DB"
bench "PostgreSQL (synchronous_commit=$(psql "$PG_ADMIN" -Atc 'SHOW synchronous_commit'), fsync=$(psql "$PG_ADMIN" -Atc 'SHOW fsync'))" "$PG_URL" \
  "psql '$PG_URL' -Atc 'SELECT COUNT(*) FROM referrals'"
psql "$PG_ADMIN" -qc "DROP DATABASE $DB WITH (FORCE)" >/dev/null
