#!/usr/bin/env bash
# The contract test: schemathesis (PyPI, pinned below) against a running dqt-api and the openapi.yaml it serves.
# Every operation gets generated requests, valid and invalid; a finding (a 5xx, a status or content type or body
# the contract does not declare, an invalid request accepted, a valid one refused, an undeclared method not answered
# 405 with Allow, a request without a key served) fails the run.
#
#   scripts/contract-test.sh [--max-examples N] [--timeout SECONDS]
#
# DQT_API_BIN=path tests that binary; otherwise dqt-api is built (debug, `swift build --product dqt-api`, in
# DQT_SCRATCH_PATH or .build). Installs schemathesis into .run/schemathesis/ (a venv) on first use. Serves on
# 127.0.0.1:${DQT_CONTRACT_PORT:-18490} over a throwaway database dqt_contract_test (migrated, seeded with
# fixtures/api/persons.ndjson, one key holding every role), dropped at the end. Uses the PostgreSQL of
# DQT_TEST_DATABASE_URL when it answers, else starts scripts/services.sh's (and stops it again).
# Works unattended; bounded by `timeout`.
# Exit status: schemathesis's (0 nothing found), or 1 when the service could not be set up.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=50
TIMEOUT=240
while [ $# -gt 0 ]; do
    case "$1" in
        --max-examples) MAX_EXAMPLES=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        *) echo "usage: $0 [--max-examples N] [--timeout SECONDS]" >&2; exit 2 ;;
    esac
done
PORT=${DQT_CONTRACT_PORT:-18490}
WORK="$ROOT/.run/contract-test"
VENV="$ROOT/.run/schemathesis"
SERVER_PID=""
mkdir -p "$WORK"

if [[ "$("$VENV/bin/schemathesis" --version 2>/dev/null || true)" != *" $SCHEMATHESIS_VERSION" ]]; then
    echo "contract-test: installing schemathesis $SCHEMATHESIS_VERSION into $VENV" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [[ -z "${DQT_API_BIN:-}" ]]; then
    SWIFT_FLAGS=()
    [[ -n "${DQT_SCRATCH_PATH:-}" ]] && SWIFT_FLAGS+=(--scratch-path "$DQT_SCRATCH_PATH")
    swift build --product dqt-api "${SWIFT_FLAGS[@]}" </dev/null >&2
    DQT_API_BIN="$(swift build --show-bin-path "${SWIFT_FLAGS[@]}")/dqt-api"
fi

# PostgreSQL: the one named by DQT_TEST_DATABASE_URL when it answers, else scripts/services.sh's.
started=()
if [[ -z "${DQT_TEST_DATABASE_URL:-}" ]] || ! psql -q "$DQT_TEST_DATABASE_URL" -c "SELECT 1" >/dev/null 2>&1; then
    was_running=$(bash scripts/services.sh status 2>/dev/null || true)
    grep -q '^postgresql: running' <<<"$was_running" || started+=(postgresql)
    grep -q '^sshd: running' <<<"$was_running" || started+=(sshd)
    bash scripts/services.sh start >/dev/null
    set -a
    # shellcheck disable=SC1091
    . "$ROOT/.run/services.env"
    set +a
fi
ADMIN_URL=$DQT_TEST_DATABASE_URL

cleanup() {
    if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS dqt_contract_test WITH (FORCE)" >/dev/null 2>&1 || true
    if ((${#started[@]} > 0)); then bash scripts/services.sh stop "${started[@]}" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS dqt_contract_test WITH (FORCE)" -c "CREATE DATABASE dqt_contract_test" >/dev/null
export DQT_API_DATABASE_URL="${ADMIN_URL%/*}/dqt_contract_test"
"$DQT_API_BIN" migrate >"$WORK/setup.log" 2>&1
"$DQT_API_BIN" seed "$ROOT/fixtures/api/persons.ndjson" >>"$WORK/setup.log" 2>&1
ROLES=GetPerson,UpdatePerson,CreateTrn,AssignQtls,SetCpdInduction,SetWelshInduction,SetProfessionalStatus,UpdateRole,CapitaImport,SetWorkforceData,ReadChanges
KEY=$("$DQT_API_BIN" keys create --name contract-test --roles "$ROLES" --rate-limit 100000000 | tail -n 1)

"$DQT_API_BIN" serve --host 127.0.0.1 --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$BASE/health/ready" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "contract-test: dqt-api did not start; see $WORK/server.log" >&2; exit 1; }
    sleep 0.1
done

echo "contract-test: schemathesis $SCHEMATHESIS_VERSION against $DQT_API_BIN (at most $MAX_EXAMPLES examples per operation, ${TIMEOUT}s)"
set +e
cd "$WORK"  # schemathesis keeps its cache in the working directory
timeout --kill-after=10 "$TIMEOUT" "$VENV/bin/schemathesis" --config-file "$ROOT/scripts/contract-test.toml" run "$BASE/openapi.yaml" \
    --url "$BASE" -H "Authorization: Bearer $KEY" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,positive_data_acceptance,missing_required_header,unsupported_method,allow_header_conformance,ignored_auth \
    --phases examples,coverage,fuzzing --max-examples "$MAX_EXAMPLES" --seed "${DQT_CONTRACT_SEED:-1}" \
    --generation-database none --workers 1 --request-timeout 10 --no-color --report junit --report-dir "$WORK" </dev/null
status=$?
set -e
if ((status != 0)); then echo "contract-test: findings above (exit $status); server log: $WORK/server.log" >&2; fi
exit "$status"
