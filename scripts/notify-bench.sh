#!/usr/bin/env bash
# Issue 4's figures on SQLite: time from a referral's commit to its webhook's arrival at
# a local receiver, and how fast a backlog of notifications drains.
# Usage: scripts/notify-bench.sh   (traffic only to 127.0.0.1; bounded)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=18091
cargo build --release --quiet --bin signpost --example notify_load
TMP="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
export DATABASE_URL="sqlite://$TMP/bench.db?mode=rwc" SIGNPOST_DATA_DIR="$TMP" SIGNPOST_LOG=warn \
  SIGNPOST_DATA_KEY="$(printf 'cd%.0s' $(seq 32))" SIGNPOST_LISTEN="127.0.0.1:$PORT" \
  SIGNPOST_REFERRALS_PER_CLIENT_HOUR=1000000000 SIGNPOST_REFERRALS_PER_MINUTE=1000000000
echo 'benchmark-password-1234' | ./target/release/signpost workers add --email bench@example.org \
  --name Bench --organisation signpost-duty-team --role coordinator --password-stdin >/dev/null

wait_ready() { for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.05; done; exit 1; }

echo "== commit to arrival (deliverer inside serve, receiver up)"
./target/release/signpost serve & PIDS+=($!); wait_ready
./target/release/examples/notify_load latency "http://127.0.0.1:$PORT" bench@example.org benchmark-password-1234 20 100
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

echo "== draining a backlog of 10000 (signpost worker)"
rm -f "$TMP"/bench.db*
echo 'benchmark-password-1234' | ./target/release/signpost workers add --email bench@example.org \
  --name Bench --organisation signpost-duty-team --role coordinator --password-stdin >/dev/null
SIGNPOST_OUTBOX_WORKER=false ./target/release/signpost serve & PIDS+=($!); wait_ready
mkfifo "$TMP/out"
./target/release/examples/notify_load drain "http://127.0.0.1:$PORT" bench@example.org benchmark-password-1234 10000 > "$TMP/out" &
PIDS+=($!)
exec 3<"$TMP/out"
read -r line <&3; echo "$line"
./target/release/signpost worker & PIDS+=($!)
while read -r line <&3; do echo "$line"; done
