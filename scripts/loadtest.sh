#!/usr/bin/env bash
# Load test for the issue-2 performance targets, against a release build on SQLite.
#
#   scripts/loadtest.sh
#
# What it does (all traffic goes to 127.0.0.1 only):
#   1. installs wrk with apt-get if it is missing, builds the release binary;
#   2. writes a synthetic content directory of $SERVICES services (default 10,000) into a
#      temporary directory and starts the server on a fresh SQLite database there;
#   3. warms up, then runs wrk (-t2 -c32 -d20s --latency) against
#        GET /v1/services?q=boxing&age=15&near=E8&radius_km=5
#        GET /v1/services/{id}   (ids picked at random from every service, fetched first)
#   4. records the server's VmRSS / VmHWM from /proc/<pid>/status;
#   5. restarts the server on the same database and times spawn → first 200 on /readyz
#      (polled every 10 ms), $RESTARTS times; loads the last one again ($RESTART_LOAD of
#      each endpoint) and records its memory;
#   6. prints a summary and keeps the raw output in $RESULTS_DIR.
#
# Knobs (environment): SERVICES, SEED, PORT, DURATION, WARMUP, THREADS, CONNECTIONS,
# RESTARTS, RESTART_LOAD, RESULTS_DIR, KEEP_TMP=1 (leave the temp dir for inspection), SKIP_BUILD=1,
# QUIET_BUSY / QUIET_WAIT_S (before each measurement, wait up to QUIET_WAIT_S seconds,
# default 300, until less than QUIET_BUSY %, default 15, of the CPUs is busy over 2 s:
# a build running on the same machine would halve the figures),
# SIGNPOST_BIN (test another build, with SKIP_BUILD=1),
# SERVER_ENV (extra environment for the server only, e.g. an allocator experiment:
# SERVER_ENV=LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

SERVICES=${SERVICES:-10000}
SEED=${SEED:-42}
PORT=${PORT:-18080}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-5s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
RESTARTS=${RESTARTS:-3}
RESTART_LOAD=${RESTART_LOAD:-10s}
QUIET_BUSY=${QUIET_BUSY:-15}
QUIET_WAIT_S=${QUIET_WAIT_S:-300}
SERVER_ENV=${SERVER_ENV:-}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-300}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/target/loadtest/$(date +%Y%m%d-%H%M%S)}
BIN=${SIGNPOST_BIN:-$ROOT/target/release/signpost}
BASE=http://127.0.0.1:$PORT
SEARCH_PATH='/v1/services?q=boxing&age=15&near=E8&radius_km=5'

log() { printf '[loadtest %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- tools -------------------------------------------------------------------------------
command -v curl >/dev/null || die "curl is required"
if ! command -v wrk >/dev/null; then
    SUDO=()
    [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
    log "installing wrk"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get install -y wrk >/dev/null 2>&1 \
        || { "${SUDO[@]}" apt-get update >/dev/null && "${SUDO[@]}" apt-get install -y wrk >/dev/null; }
    command -v wrk >/dev/null || die "could not install wrk"
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "cargo build --release"
    cargo build --release --bin signpost
fi
[ -x "$BIN" ] || die "$BIN not found"

if curl -s -o /dev/null --max-time 1 "$BASE/healthz"; then
    die "something already answers on $BASE; set PORT"
fi

# --- temp dir, server lifecycle ---------------------------------------------------------
TMP=$(mktemp -d -t signpost-loadtest.XXXXXX)
mkdir -p "$RESULTS_DIR" "$TMP/data"
SERVER_PID=""

stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

cleanup() {
    stop_server
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        log "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }

# Starts the server in the background; sets SERVER_PID, which is the server process
# itself (bash runs a simple command in one forked child, and env execs the binary).
start_server() {
    SIGNPOST_CONTENT_DIR="$TMP/content" \
    SIGNPOST_DATA_DIR="$TMP/data" \
    DATABASE_URL="sqlite://$TMP/data/signpost.db?mode=rwc" \
    SIGNPOST_LISTEN="127.0.0.1:$PORT" \
    SIGNPOST_LOG=warn \
        env $SERVER_ENV "$BIN" serve >>"$RESULTS_DIR/server.log" 2>&1 &
    SERVER_PID=$!
}

# Polls /readyz every 10 ms; prints milliseconds from $1 (ns timestamp) to the first 200.
wait_ready() {
    local t0=$1 deadline code
    deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/readyz" || true)
        if [ "$code" = 200 ]; then
            echo $(( ($(now_ns) - t0) / 1000000 ))
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$RESULTS_DIR/server.log" >&2; die "server exited"; }
        [ "$(date +%s)" -lt "$deadline" ] || die "not ready after ${READY_TIMEOUT_S}s"
        sleep 0.01
    done
}

mem_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
# Whole machine: "busy idle" ticks (idle includes iowait).
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }

# % of all CPUs busy over the next 2 seconds.
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
            log "WARNING: CPUs still ${busy}% busy with other work; measuring anyway"
            NOISY="yes (${busy}% busy before a run)"
            return
        fi
        sleep 3
    done
    log "CPUs ${busy}% busy before measuring (waited $(( $(date +%s) - start ))s)"
}
NOISY=no

# --- content ----------------------------------------------------------------------------
log "writing $SERVICES synthetic services (seed $SEED) to $TMP/content"
SIGNPOST_CONTENT_DIR="$ROOT/content" SIGNPOST_LOG=warn \
    "$BIN" content synth --services "$SERVICES" --seed "$SEED" --out "$TMP/content"
# `content synth` writes the directory part of a content folder; copy whatever else the
# shipped content has and the synthetic folder lacks (help lines, referral rules,
# articles, …), leaving organisations/ as synth made it.
(cd "$ROOT/content" && find . -path ./organisations -prune -o -type f -print) |
    while read -r f; do
        if [ ! -e "$TMP/content/$f" ]; then
            mkdir -p "$(dirname "$TMP/content/$f")"
            cp "$ROOT/content/$f" "$TMP/content/$f"
        fi
    done

wait_quiet

# --- first start: empty database, full content sync -------------------------------------
log "first start (empty database, loads $SERVICES services)"
t0=$(now_ns)
start_server
FIRST_READY_MS=$(wait_ready "$t0")
log "ready after ${FIRST_READY_MS} ms"
RSS_IDLE_KB=$(mem_kb VmRSS)

# --- sanity checks and the id list -------------------------------------------------------
code=$(curl -s -o "$RESULTS_DIR/search.json" -w '%{http_code}' "$BASE$SEARCH_PATH")
[ "$code" = 200 ] || die "search answered $code"
SEARCH_HITS=$(grep -oE '"total_items":[0-9]+' "$RESULTS_DIR/search.json" | head -1 | cut -d: -f2)
SEARCH_BYTES=$(wc -c <"$RESULTS_DIR/search.json")

IDS=$RESULTS_DIR/ids.txt
: >"$IDS"
page=1
while :; do
    body=$(curl -sf "$BASE/v1/services?per_page=100&page=$page")
    if command -v jq >/dev/null; then
        printf '%s' "$body" | jq -r '.contents[].id' >>"$IDS"
    else
        # A service object opens the list or follows another one; nested objects do not.
        printf '%s' "$body" | grep -oE '(\[|\},)\{"id":"[0-9a-f-]{36}"' \
            | grep -oE '[0-9a-f-]{36}' >>"$IDS"
    fi
    printf '%s' "$body" | grep -q '"last_page":true' && break
    page=$((page + 1))
    [ "$page" -le 2000 ] || die "too many pages"
done
ID_COUNT=$(wc -l <"$IDS")
[ "$ID_COUNT" -gt 0 ] || die "no service ids"
code=$(curl -s -o "$RESULTS_DIR/detail.json" -w '%{http_code}' "$BASE/v1/services/$(head -1 "$IDS")")
[ "$code" = 200 ] || die "GET /v1/services/{id} answered $code"
DETAIL_BYTES=$(wc -c <"$RESULTS_DIR/detail.json")
log "$ID_COUNT service ids; search matches $SEARCH_HITS services (${SEARCH_BYTES} B), detail ${DETAIL_BYTES} B"

LUA=$RESULTS_DIR/ids.lua
cat >"$LUA" <<EOF
-- GET /v1/services/{id} with ids picked at random from every service.
local ids = {}
for line in io.lines("$IDS") do ids[#ids + 1] = line end
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(seed * 7919)
end
function request()
  return wrk.format("GET", "/v1/services/" .. ids[math.random(#ids)])
end
EOF

# --- load --------------------------------------------------------------------------------
run_wrk() { # name, duration, wrk args...
    local name=$1 duration=$2
    shift 2
    local before after hz t0 t1 wrk_cpu m0 m1
    hz=$(getconf CLK_TCK)
    before=$(cpu_ticks); m0=$(machine_ticks); t0=$(now_ns)
    wrk_cpu=$( { TIMEFORMAT='%U %S'; time wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency "$@" \
        >"$RESULTS_DIR/wrk-$name.txt"; } 2>&1 )
    after=$(cpu_ticks); m1=$(machine_ticks); t1=$(now_ns)
    # Share of all CPUs busy (anything: server, wrk, kernel networking, other processes).
    awk -v a="$m0" -v b="$m1" 'BEGIN { split(a, x, " "); split(b, y, " ");
        busy = y[1] - x[1]; idle = y[2] - x[2]; printf "%d\n", 100 * busy / (busy + idle) }' \
        >"$RESULTS_DIR/busy-$name.txt"
    # CPU during the run, in % of one core (200 = both cores of a 2-core box).
    echo $(( (after - before) * 100 * 1000000000 / hz / (t1 - t0) )) >"$RESULTS_DIR/cpu-$name.txt"
    awk -v w="$wrk_cpu" -v ns=$((t1 - t0)) 'BEGIN { split(w, a, " "); printf "%d\n", (a[1] + a[2]) * 100 * 1e9 / ns }' \
        >"$RESULTS_DIR/wrkcpu-$name.txt"
}

wrk_field() { # file, what
    case $2 in
        rps) awk '/^Requests\/sec:/ { print $2 }' "$1" ;;
        p50) awk '/^ +50%/ { print $2 }' "$1" ;;
        p75) awk '/^ +75%/ { print $2 }' "$1" ;;
        p90) awk '/^ +90%/ { print $2 }' "$1" ;;
        p99) awk '/^ +99%/ { print $2 }' "$1" ;;
        errors) { grep -E '^ +(Non-2xx|Socket errors)' "$1" || echo none; } | tr -s ' ' | paste -sd';' ;;
    esac
}

wait_quiet
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before the runs: $LOAD_BEFORE"
log "warm-up ($WARMUP each)"
run_wrk warmup-search "$WARMUP" "$BASE$SEARCH_PATH"
run_wrk warmup-detail "$WARMUP" -s "$LUA" "$BASE"

log "search: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency"
run_wrk search "$DURATION" "$BASE$SEARCH_PATH"
RSS_AFTER_SEARCH_KB=$(mem_kb VmRSS)
wait_quiet
log "detail: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s ids.lua"
run_wrk detail "$DURATION" -s "$LUA" "$BASE"
RSS_AFTER_LOAD_KB=$(mem_kb VmRSS)
HWM_KB=$(mem_kb VmHWM)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
stop_server

# --- restarts on the same database ----------------------------------------------------------
wait_quiet
READY=()
for i in $(seq 1 "$RESTARTS"); do
    t0=$(now_ns)
    start_server
    READY+=("$(wait_ready "$t0")")
    [ "$i" -eq 1 ] && RSS_RESTART_KB=$(mem_kb VmRSS)
    [ "$i" -eq "$RESTARTS" ] || stop_server
done
log "restart → ready (ms): ${READY[*]}"
# The restarted server (existing database) under both loads again, for its memory only.
log "memory after a restart, under load ($RESTART_LOAD each)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$RESTART_LOAD" "$BASE$SEARCH_PATH" >"$RESULTS_DIR/wrk-restart-search.txt"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$RESTART_LOAD" -s "$LUA" "$BASE" >"$RESULTS_DIR/wrk-restart-detail.txt"
RSS_RESTART_LOAD_KB=$(mem_kb VmRSS)
HWM_RESTART_KB=$(mem_kb VmHWM)
stop_server

# --- summary -----------------------------------------------------------------------------
{
    echo "Signpost load test — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.1f GiB", $2/1048576 }' /proc/meminfo)"
    [ -z "$SERVER_ENV" ] || echo "server environment: $SERVER_ENV"
    echo "services: $ID_COUNT live ($SERVICES synthetic, seed $SEED); wrk -t$THREADS -c$CONNECTIONS -d$DURATION on the same machine"
    echo "load average: before runs $LOAD_BEFORE, after $LOAD_AFTER; other work on the CPUs: $NOISY"
    echo
    printf '%-34s %10s %9s %9s %9s %9s %10s %8s %8s  %s\n' endpoint req/s p50 p75 p90 p99 server-cpu wrk-cpu rest errors
    for name in search detail; do
        f=$RESULTS_DIR/wrk-$name.txt
        if [ "$name" = search ]; then label="search ($SEARCH_HITS hits)"; else label="detail (random of $ID_COUNT ids)"; fi
        server=$(cat "$RESULTS_DIR/cpu-$name.txt")
        wrkc=$(cat "$RESULTS_DIR/wrkcpu-$name.txt")
        rest=$(( $(cat "$RESULTS_DIR/busy-$name.txt") * $(nproc) - server - wrkc ))
        printf '%-34s %10s %9s %9s %9s %9s %9s%% %7s%% %7s%%  %s\n' "$label" \
            "$(wrk_field "$f" rps)" "$(wrk_field "$f" p50)" "$(wrk_field "$f" p75)" \
            "$(wrk_field "$f" p90)" "$(wrk_field "$f" p99)" "$server" "$wrkc" "$rest" "$(wrk_field "$f" errors)"
    done
    echo "(CPU in % of one core: server and wrk from /proc; rest = all busy CPU from /proc/stat"
    echo " minus both: kernel networking not charged to them, and any other work on the machine)"
    echo
    mem() { printf '%-44s %4d MiB = %4d MB\n' "$1" $(($2 / 1024)) $(($2 * 1024 / 1000000)); }
    mem "RSS after first ready (idle):" "$RSS_IDLE_KB"
    mem "RSS after search load:" "$RSS_AFTER_SEARCH_KB"
    mem "RSS after detail load:" "$RSS_AFTER_LOAD_KB"
    mem "VmHWM (peak RSS, incl. first sync):" "$HWM_KB"
    mem "RSS after a restart (idle, at ready):" "$RSS_RESTART_KB"
    mem "RSS after a restart and $RESTART_LOAD of each load:" "$RSS_RESTART_LOAD_KB"
    mem "VmHWM of the restarted server:" "$HWM_RESTART_KB"
    echo
    echo "first start, empty DB → ready:   ${FIRST_READY_MS} ms"
    echo "restart, same DB → ready (ms):   ${READY[*]}"
    echo
    echo "response sizes: search ${SEARCH_BYTES} B, detail ${DETAIL_BYTES} B"
    echo "raw output: $RESULTS_DIR"
} | tee "$RESULTS_DIR/summary.txt"
