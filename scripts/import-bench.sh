#!/usr/bin/env bash
# Issue 6's figures: importing 10,000 services from an NDJSON file (time, and peak memory
# at 10,000 and 40,000 to show it stays flat), and /hsds/services pages at 32 connections.
# Traffic only to 127.0.0.1; bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=18093
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
cargo build --release --quiet --bin signpost
TMP="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

export_feed() { # $1 = services, $2 = output NDJSON
  SIGNPOST_CONTENT_DIR=content ./target/release/signpost content synth --services "$1" --seed 7 --out "$TMP/synth-$1" 2>/dev/null
  mkdir -p "$TMP/src-$1"
  SIGNPOST_CONTENT_DIR="$TMP/synth-$1" SIGNPOST_DATA_DIR="$TMP/src-$1" SIGNPOST_LISTEN="127.0.0.1:$PORT" SIGNPOST_LOG=warn \
    ./target/release/signpost serve & PID=$!
  for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  python3 - "$PORT" "$2" <<'PY'
import json, sys, urllib.request
port, out = sys.argv[1], sys.argv[2]
page, n = 1, 0
with open(out, "w") as f:
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hsds/services?page={page}&per_page=100") as r:
            env = json.load(r)
        for s in env["contents"]:
            f.write(json.dumps(s) + "\n"); n += 1
        if env["last_page"]:
            break
        page += 1
print(f"  exported {n} services")
PY
}

import_into_fresh() { # $1 = NDJSON, $2 = label
  mkdir -p "$TMP/dst-$2"
  # A first start creates the database and loads the shipped content.
  SIGNPOST_DATA_DIR="$TMP/dst-$2" ./target/release/signpost migrate 2>/dev/null
  SIGNPOST_DATA_DIR="$TMP/dst-$2" SIGNPOST_LOG=warn /usr/bin/time -f "  %e s elapsed, peak RSS %M KiB" \
    ./target/release/signpost import hsds "$1" 2>&1 | grep -v '^rejected' | sed 's/^/  /'
}

echo "== export 10,000 synthetic services as NDJSON"
export_feed 10000 "$TMP/10k.ndjson"
ls -l "$TMP/10k.ndjson" | awk '{print "  file: " $5 " bytes"}'
echo "== /hsds/services pages, 32 connections (10,000 services)"
for p in 1 50; do
  wrk -t2 -c32 -d10s --latency "http://127.0.0.1:$PORT/hsds/services?page=$p&per_page=20" | grep -E "Requests/sec|99%|Non-2xx" | sed "s/^/  page $p: /"
done
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""

echo "== import 10,000 into a fresh SQLite database"
import_into_fresh "$TMP/10k.ndjson" 10k
echo "== import 40,000 (the 10,000 four times over, renamed) to see memory stay flat"
python3 - "$TMP/10k.ndjson" "$TMP/40k.ndjson" <<'PY'
import json, sys, uuid
src, out = sys.argv[1], sys.argv[2]
with open(src) as f, open(out, "w") as o:
    lines = f.readlines()
    for k in range(4):
        for line in lines:
            s = json.loads(line)
            s["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{k}:{s['id']}"))
            o.write(json.dumps(s) + "\n")
PY
import_into_fresh "$TMP/40k.ndjson" 40k
