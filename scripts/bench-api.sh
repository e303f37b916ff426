#!/usr/bin/env bash
# Load figures for dqt-api on loopback (a benchmark, not a test):
#   1. GET /v3/persons/{trn} under wrk (req/s and p99; target >= 5000 req/s, p99 < 10 ms on 2 cores)
#   2. POST /v3/batches with 1,000 workforce upserts (wall time per batch; target < 100 ms)
#
#   scripts/bench-api.sh [--duration 15s] [--connections 32] [--threads 2] [--batches 5]
#
# Builds dqt-api in release (scratch .build-api; DQT_API_BIN=path skips the build), starts PostgreSQL with
# scripts/services.sh, creates a throwaway database dqt_api_bench, migrates, seeds fixtures/api/persons.ndjson,
# creates a key, serves on 127.0.0.1:${DQT_API_BENCH_PORT:-18480}, and stops and drops everything at the end.
# Installs wrk (Debian) when missing. Traffic goes to loopback only; every loop is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
DURATION=15s
CONNECTIONS=32
THREADS=2
BATCHES=5
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift 2 ;;
        --connections) CONNECTIONS=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --batches) BATCHES=$2; shift 2 ;;
        *) echo "usage: $0 [--duration 15s] [--connections 32] [--threads 2] [--batches 5]" >&2; exit 2 ;;
    esac
done
PORT=${DQT_API_BENCH_PORT:-18480}
WORK=$(mktemp -d /tmp/dqt-api-bench.XXXXXX)
SERVER_PID=""

if ! command -v wrk >/dev/null 2>&1; then
    echo "bench-api: installing wrk" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
command -v curl >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }

if [ -z "${DQT_API_BIN:-}" ]; then
    echo "bench-api: building dqt-api (release)" >&2
    swift build -c release --scratch-path "$ROOT/.build-api" --product dqt-api >&2
    DQT_API_BIN="$ROOT/.build-api/release/dqt-api"
fi

"$ROOT/scripts/services.sh" start >/dev/null
set -a; . "$ROOT/.run/services.env"; set +a
ADMIN_URL=$DQT_TEST_DATABASE_URL
BENCH_URL="${ADMIN_URL%/*}/dqt_api_bench"

cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS dqt_api_bench WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS dqt_api_bench WITH (FORCE)" -c "CREATE DATABASE dqt_api_bench" >/dev/null
export DQT_API_DATABASE_URL=$BENCH_URL
"$DQT_API_BIN" migrate >&2
"$DQT_API_BIN" seed "$ROOT/fixtures/api/persons.ndjson" >&2
KEY=$("$DQT_API_BIN" keys create --name bench --roles GetPerson,SetWorkforceData --rate-limit 100000000 | tail -n 1)

"$DQT_API_BIN" serve --host 127.0.0.1 --port "$PORT" --pool-size 8 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then break; fi
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null

# 1. Reads: rotate over the 58 active seeded persons.
cat >"$WORK/get.lua" <<EOF
local trns = {}
for i = 1000001, 1000058 do trns[#trns + 1] = tostring(i) end
local n = 0
request = function()
    n = n + 1
    return wrk.format("GET", "/v3/persons/" .. trns[(n % #trns) + 1], { ["Authorization"] = "Bearer $KEY" })
end
EOF
# CPU time (clock ticks) of the server and of its PostgreSQL backends: beside wall-clock figures, which other work
# on the machine distorts, these say what one request costs.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pg_ticks() {
    local total=0 pid
    for pid in $(psql -At "$ADMIN_URL" -c "SELECT pid FROM pg_stat_activity WHERE datname = 'dqt_api_bench' AND pid <> pg_backend_pid()"); do
        total=$((total + $(cpu_ticks "$pid" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
TICKS=$(getconf CLK_TCK)

curl -fsS -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v3/persons/1000001" >/dev/null
wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s "$WORK/get.lua" "http://127.0.0.1:$PORT" >/dev/null  # warm-up
SERVER0=$(cpu_ticks "$SERVER_PID"); PG0=$(pg_ticks)
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/get.lua" "http://127.0.0.1:$PORT" >"$WORK/wrk.txt"
SERVER1=$(cpu_ticks "$SERVER_PID"); PG1=$(pg_ticks)
REQUESTS=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
GET_CPU="server $(( (SERVER1 - SERVER0) * 1000000 / TICKS / REQUESTS )) us, PostgreSQL $(( (PG1 - PG0) * 1000000 / TICKS / REQUESTS )) us"
RPS=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
P99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
P50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.txt")
NON2XX=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.txt")

# 2. Batches of 1,000 workforce upserts (new keys each batch, so every operation is applied, not replayed).
python3 - "$WORK" "$BATCHES" <<'EOF'
import json, sys
work, batches = sys.argv[1], int(sys.argv[2])
for b in range(batches):
    ops = []
    for i in range(1000):
        trn = str(1000001 + i % 58)
        start = f"20{10 + (i // 58) % 15:02d}-{1 + b % 12:02d}-{1 + i // 870:02d}"
        key = f"{trn}.201.4001.{start.replace('-', '')}"
        body = {"localAuthorityCode": "201", "establishmentCode": "4001", "establishmentPostcode": "CF10 1AA",
                "establishmentEmailAddress": None, "memberPostcode": None, "memberEmailAddress": None,
                "startDate": start, "endDate": None, "employmentType": "FT", "withdrawn": False,
                "extractDate": "2025-01-31", "nationalInsuranceNumber": "JA100037B", "dateOfBirth": "1970-01-01",
                "dateOfDeath": None, "gender": "Male"}
        ops.append({"method": "PUT", "path": f"/v3/persons/{trn}/employments/{key}", "body": body,
                    "idempotencyKey": f"bench:{b}:{i}", "source": {"feed": "tps-workforce", "fileSha256": "bench", "line": i + 9}})
    with open(f"{work}/batch{b}.json", "w") as f:
        json.dump({"operations": ops}, f)
EOF
TIMES=()
SERVER0=$(cpu_ticks "$SERVER_PID"); PG0=$(pg_ticks)
for b in $(seq 0 $((BATCHES - 1))); do
    OUT=$(curl -sS -o "$WORK/batch$b.out" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' --data-binary "@$WORK/batch$b.json" "http://127.0.0.1:$PORT/v3/batches")
    CODE=${OUT%% *}
    SECONDS_TOTAL=${OUT#* }
    OK=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(sum(1 for x in r if x['status']==204))" "$WORK/batch$b.out")
    [ "$CODE" = 200 ] && [ "$OK" = 1000 ] || { echo "bench-api: batch $b failed: HTTP $CODE, $OK/1000 applied" >&2; exit 1; }
    TIMES+=("$(python3 -c "print(round(float('$SECONDS_TOTAL') * 1000, 1))")")
done
SERVER1=$(cpu_ticks "$SERVER_PID"); PG1=$(pg_ticks)
BATCH_CPU="server $(( (SERVER1 - SERVER0) * 1000 / TICKS / BATCHES )) ms, PostgreSQL $(( (PG1 - PG0) * 1000 / TICKS / BATCHES )) ms"
SORTED=$(printf '%s\n' "${TIMES[@]}" | sort -n)
MEDIAN=$(printf '%s\n' "$SORTED" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')

echo "dqt-api bench on $(nproc) cores, $THREADS wrk threads, $CONNECTIONS connections, $DURATION, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "GET /v3/persons/{trn}: ${RPS} req/s, p50 ${P50}, p99 ${P99}${NON2XX:+, non-2xx ${NON2XX}} (targets: >= 5000 req/s, p99 < 10ms)"
echo "  CPU per request: ${GET_CPU}"
echo "POST /v3/batches, 1000 workforce upserts: ${TIMES[*]} ms (median ${MEDIAN} ms; target < 100 ms)"
echo "  CPU per batch: ${BATCH_CPU} (curl and the result checks not counted)"
