# Sourced by the benchmarks that drive dqt-bridge against a dqt-api of their own (bench-run.sh, bench-export.sh):
# the services, the binaries, two throwaway databases and the API server, all removed again at the end.
#
#   BENCH=bench-run; BENCH_DB=dqt_bench; PORT=18490; . scripts/bench-harness.sh
#   bench_start                        # services, binaries ($BRIDGE, $API), databases ${BENCH_DB}_api/_ledger, migrated
#   bench_serve_api [SERVE_ARGS...]    # dqt-api serve on 127.0.0.1:$PORT, once ready
#
# Sets WORK (a scratch folder); BENCH_DEST, when a script sets it, is removed at the end too. DQT_BRIDGE_BIN and
# DQT_API_BIN skip the release builds (DQT_SCRATCH_PATH=DIR builds elsewhere than .build); DQT_BENCH_KEEP=1 keeps the
# folder and the databases. Services running before are left running; the ones started here are stopped.

WORK=$(mktemp -d "/tmp/dqt-$BENCH.XXXXXX")
API_PID=""
BENCH_DEST=""
BENCH_STARTED=()

bench_cleanup() {
    [[ -n "${DQT_BENCH_KEEP:-}" ]] && { echo "$BENCH: kept $WORK and the databases" >&2; [[ -n "$API_PID" ]] && kill "$API_PID"; return; }
    [[ -n "$API_PID" ]] && kill "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null || true
    [[ -n "$BENCH_DEST" ]] && rm -rf "$BENCH_DEST"
    if [[ -n "${DQT_TEST_DATABASE_URL:-}" ]]; then
        psql -q "$DQT_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS ${BENCH_DB}_api WITH (FORCE)" \
            -c "DROP DATABASE IF EXISTS ${BENCH_DB}_ledger WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
    if ((${#BENCH_STARTED[@]} > 0)); then bash scripts/services.sh stop "${BENCH_STARTED[@]}" >/dev/null 2>&1 || true; fi
}

bench_start() {
    bash scripts/setup.sh
    command -v curl >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
    mapfile -t BENCH_STARTED < <(bash scripts/services.sh stopped)
    trap bench_cleanup EXIT
    bash scripts/services.sh start >/dev/null
    set -a
    # shellcheck disable=SC1091
    . "$ROOT/.run/services.env"
    set +a

    local swift_flags=(-c release) bin=""
    [[ -n "${DQT_SCRATCH_PATH:-}" ]] && swift_flags+=(--scratch-path "$DQT_SCRATCH_PATH")
    if [[ -z "${DQT_BRIDGE_BIN:-}" || -z "${DQT_API_BIN:-}" ]]; then
        echo "$BENCH: building dqt-bridge and dqt-api (release)" >&2
        swift build "${swift_flags[@]}" --product dqt-api </dev/null >&2
        swift build "${swift_flags[@]}" --product dqt-bridge </dev/null >&2
        bin=$(swift build "${swift_flags[@]}" --show-bin-path </dev/null)
    fi
    BRIDGE=${DQT_BRIDGE_BIN:-$bin/dqt-bridge}
    API=${DQT_API_BIN:-$bin/dqt-api}

    local base=${DQT_TEST_DATABASE_URL%/*}
    psql -q "$DQT_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS ${BENCH_DB}_api WITH (FORCE)" \
        -c "DROP DATABASE IF EXISTS ${BENCH_DB}_ledger WITH (FORCE)" \
        -c "CREATE DATABASE ${BENCH_DB}_api" -c "CREATE DATABASE ${BENCH_DB}_ledger" 2>&1 | grep -v NOTICE || true
    export DQT_API_DATABASE_URL="$base/${BENCH_DB}_api"
    export DQT_BRIDGE_DATABASE_URL="$base/${BENCH_DB}_ledger"
    "$API" migrate >/dev/null
}

bench_serve_api() {
    "$API" serve --port "$PORT" "$@" >"$WORK/dqt-api.log" 2>&1 &
    API_PID=$!
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break
        sleep 0.1
    done
}
