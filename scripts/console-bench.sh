#!/usr/bin/env bash
# Issue 11's figures: the youth-worker console with 10,000 referrals in one organisation.
# On a fresh SQLite database, then a fresh PostgreSQL database: a coordinator account in
# signpost-duty-team, 10,000 self-referrals (all routed there), then 8 signed-in browsers
# ask for the inbox (page 1 and filtered/paged variants) and then for referral pages at
# random (each visit records a `viewed` event, checked against the database), with
# p50/p90/p99/max per phase; and what a first visit weighs on the wire (sign-in, inbox,
# referral, each with its CSS, script and images; nothing from another host).
#
# Usage: scripts/console-bench.sh [SECONDS]   (per timed phase, default 20; after a 3 s
# warm-up). Traffic only to 127.0.0.1; bounded (every step has a timeout).
# Knobs (environment): CLIENTS (8), REFERRALS (10000), PORT (18095), ONLY=sqlite|postgres,
# SKIP_BUILD=1, SIGNPOST_BIN and CONSOLE_LOAD_BIN (copies of the binaries, so that a build
# running meanwhile cannot replace them), SIGNPOST_BENCH_POSTGRES_URL (an admin URL; default
# postgres://postgres@127.0.0.1:5432/test), QUIET_BUSY / QUIET_WAIT_S (before each timed
# run, wait up to QUIET_WAIT_S seconds, default 180, until under QUIET_BUSY %, default 15,
# of the CPUs is busy: a build on the same two cores would double the latencies).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_PHASE="${1:-20}"
CLIENTS="${CLIENTS:-8}"
REFERRALS="${REFERRALS:-10000}"
PORT="${PORT:-18095}"
ONLY="${ONLY:-}"
QUIET_BUSY="${QUIET_BUSY:-15}"
QUIET_WAIT_S="${QUIET_WAIT_S:-180}"
PG_ADMIN="${SIGNPOST_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
BASE="http://127.0.0.1:$PORT"
EMAIL="coordinator@bench.invalid"
PASSWORD="bench password $$ $(date +%s)"
DATA_KEY="$(printf 'cd%.0s' $(seq 32))"
BIN="${SIGNPOST_BIN:-./target/release/signpost}"
LOAD="${CONSOLE_LOAD_BIN:-./target/release/examples/console_load}"

command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --quiet --bin signpost --example console_load
fi
if curl -s -o /dev/null --max-time 1 "$BASE/healthz"; then
  echo "something already answers on $BASE; set PORT"; exit 1
fi

TMP="$(mktemp -d)"
SERVER_PID=""
PG_DB=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  [ -n "$PG_DB" ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Whole machine: "busy idle" ticks (idle includes iowait).
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
busy_now() {
  local a b
  a=$(machine_ticks); sleep 2; b=$(machine_ticks)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
    busy = y[1] - x[1]; idle = y[2] - x[2]; printf "%d\n", 100 * busy / (busy + idle + 1e-9) }'
}
# Waits (bounded) until nothing else keeps the CPUs busy (a build, a test run).
wait_quiet() {
  local start busy
  start=$(date +%s)
  while :; do
    busy=$(busy_now)
    [ "$busy" -ge "$QUIET_BUSY" ] || break
    if [ $(( $(date +%s) - start )) -ge "$QUIET_WAIT_S" ]; then
      echo "   (CPUs still ${busy}% busy with other work; measuring anyway)"
      NOISY="$NOISY ${busy}%"
      return
    fi
    sleep 3
  done
  echo "   (CPUs ${busy}% busy before measuring; waited $(( $(date +%s) - start )) s)"
}
NOISY=""

# The server's environment (DATABASE_URL comes on top): the same for `workers add`.
server_vars() { # $1 = DATABASE_URL
  SERVER_VARS=(DATABASE_URL="$1" SIGNPOST_DATA_DIR="$TMP/data" SIGNPOST_LISTEN="127.0.0.1:$PORT"
    SIGNPOST_LOG=warn SIGNPOST_DATA_KEY="$DATA_KEY" SIGNPOST_REQUIRE_2FA=none
    SIGNPOST_REFERRALS_PER_CLIENT_HOUR=1000000000 SIGNPOST_REFERRALS_PER_MINUTE=1000000000
    SIGNPOST_RECEIPT_FAILURES=1000000000 SIGNPOST_RECEIPT_SLOWDOWN_AFTER=1000000000)
}

# Starts the server in the background; SERVER_PID is the server process itself (bash
# runs a simple command in one forked child, and env execs the binary).
start_server() { # $1 = DATABASE_URL
  server_vars "$1"
  env "${SERVER_VARS[@]}" "$BIN" serve 2>>"$TMP/server.log" >&2 &
  SERVER_PID=$!
  for _ in $(seq 600); do
    curl -sf "$BASE/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not start:"; tail -30 "$TMP/server.log"; exit 1
}

stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

server_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }

SUMMARY="$TMP/summary.txt"
: >"$SUMMARY"

bench() { # $1 = label, $2 = DATABASE_URL, $3 = command that runs one SQL query
  local label="$1" url="$2" sql="$3" out before after opened viewed t0 t1 hz
  echo "== $label"
  # The coordinator, with the server's database and key (also migrates and loads content).
  server_vars "$url"
  printf '%s\n' "$PASSWORD" | env "${SERVER_VARS[@]}" timeout 300 "$BIN" \
    workers add --email "$EMAIL" --name "Bench Coordinator" \
    --organisation signpost-duty-team --role coordinator --password-stdin 2>>"$TMP/server.log"
  start_server "$url"
  echo "-- seeding $REFERRALS referrals"
  timeout 900 "$LOAD" seed "$BASE" "$REFERRALS" 8
  echo "stored: $(eval "$sql 'SELECT COUNT(*) FROM referrals'") referrals," \
    "$(eval "$sql \"SELECT COUNT(*) FROM referrals WHERE urgency = 'urgent'\"") urgent"
  wait_quiet
  echo "-- pages: $CLIENTS signed-in browsers, ${SECONDS_PER_PHASE} s per phase"
  before="$(eval "$sql \"SELECT COUNT(*) FROM referral_events WHERE kind = 'viewed'\"")"
  hz=$(getconf CLK_TCK); t0=$(server_cpu_ticks); s0=$(date +%s%N)
  out="$(timeout $(( 4 * SECONDS_PER_PHASE + 300 )) "$LOAD" pages "$BASE" "$EMAIL" "$PASSWORD" "$CLIENTS" "$SECONDS_PER_PHASE")" \
    || { echo "$out"; echo "FAILED: pages"; exit 1; }
  t1=$(server_cpu_ticks); s1=$(date +%s%N)
  echo "$out"
  after="$(eval "$sql \"SELECT COUNT(*) FROM referral_events WHERE kind = 'viewed'\"")"
  opened="$(echo "$out" | sed -n 's/^referral_pages_opened=//p')"
  viewed=$(( after - before ))
  echo "viewed events recorded: $viewed for $opened referral pages opened"
  # One per visit: a referral this (single) account opened again within 10 minutes, with
  # nothing new from the young person, is the same visit and records nothing.
  { [ "$viewed" -gt 0 ] && [ "$viewed" -le "$opened" ]; } \
    || { echo "MISMATCH: openings must be recorded, at most one each"; exit 1; }
  echo "server CPU over the pages run: $(( (t1 - t0) * 100 * 1000000000 / hz / (s1 - s0) ))% of one core (of $(nproc))"
  echo "-- weight of a first visit"
  timeout 120 "$LOAD" weight "$BASE" "$EMAIL" "$PASSWORD" | tee "$TMP/weight.txt" || { echo "FAILED: weight"; exit 1; }
  stop_server
  {
    echo "$label:"
    echo "$out" | grep -E '^(inbox|referral):|^  (inbox|referral) ' | sed 's/^/  /'
    grep '^weight:' "$TMP/weight.txt" | sed 's/^/  /'
  } >>"$SUMMARY"
}

mkdir -p "$TMP/data"
if [ "$ONLY" != postgres ]; then
  bench "SQLite" "sqlite://$TMP/data/bench.db?mode=rwc" "sqlite3 '$TMP/data/bench.db'"
fi
if [ "$ONLY" != sqlite ]; then
  PG_DB="signpost_console_bench_$$"
  psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
  PG_URL="${PG_ADMIN%/*}/$PG_DB"
  bench "PostgreSQL" "$PG_URL" "psql '$PG_URL' -Atc"
  psql "$PG_ADMIN" -qc "DROP DATABASE $PG_DB WITH (FORCE)" >/dev/null
  PG_DB=""
fi

echo
echo "== summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src migrations || echo ' + uncommitted changes in src/'))"
echo "server binary: $BIN, built $(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ) (from the working tree then, not necessarily the commit above)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(rustc --version)"
echo "$REFERRALS referrals in signpost-duty-team; $CLIENTS browsers; ${SECONDS_PER_PHASE} s per phase; targets: p99 < 20 ms, a first visit < 60,000 B compressed"
[ -z "$NOISY" ] || echo "other work was on the CPUs before a run:$NOISY"
cat "$SUMMARY"
