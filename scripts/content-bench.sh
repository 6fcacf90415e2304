#!/usr/bin/env bash
# Issue 5's figures: size of a full sync (compressed) with the shipped content and with
# 10,000 synthetic services, size of an empty delta, and requests/s for /v1/help and for an
# unchanged /v1/sync (304) at 32 connections. Traffic only to 127.0.0.1; bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=18092
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --quiet --bin signpost
TMP="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

serve() { # $1 = content dir, $2 = name
  mkdir -p "$TMP/$2"
  SIGNPOST_CONTENT_DIR="$1" SIGNPOST_DATA_DIR="$TMP/$2" SIGNPOST_LISTEN="127.0.0.1:$PORT" SIGNPOST_LOG=warn \
    ./target/release/signpost serve & PID=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start"; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

sizes() {
  local url="http://127.0.0.1:$PORT/v1/sync"
  for enc in identity gzip br; do
    printf '  full sync, %-8s %8s bytes\n' "$enc" "$(curl -s -H "Accept-Encoding: $enc" -o /dev/null -w '%{size_download}' "$url")"
  done
  cursor="$(curl -s "$url" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cursor"])')"
  for enc in identity gzip; do
    printf '  empty delta, %-6s %8s bytes\n' "$enc" "$(curl -s -H "Accept-Encoding: $enc" -o /dev/null -w '%{size_download}' "$url?since=$cursor")"
  done
}

echo "== shipped content"
serve content shipped
sizes
etag="$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/v1/sync?since=$cursor" | tr -d '\r' | sed -n 's/^etag: //Ip')"
echo "  304 check: $(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "http://127.0.0.1:$PORT/v1/sync?since=$cursor")"
echo "-- GET /v1/help, 32 connections"
wrk -t2 -c32 -d15s --latency "http://127.0.0.1:$PORT/v1/help" | grep -E "Requests/sec|Latency|99%|Non-2xx"
echo "-- GET /v1/sync?since=<current> with If-None-Match (304), 32 connections"
wrk -t2 -c32 -d15s --latency -H "If-None-Match: $etag" "http://127.0.0.1:$PORT/v1/sync?since=$cursor" | grep -E "Requests/sec|Latency|99%|Non-2xx"
stop

echo "== 10,000 synthetic services"
SIGNPOST_CONTENT_DIR=content ./target/release/signpost content synth --services 10000 --seed 42 --out "$TMP/synth" 2>/dev/null
cp -r content/articles content/safe_places content/privacy.md "$TMP/synth/"
serve "$TMP/synth" synth
sizes
stop
