#!/usr/bin/env bash
# The main job, for real, on this machine: a local OpenSSH SFTP server and PostgreSQL on loopback
# (scripts/services.sh), dqt-api on 127.0.0.1:${DQT_API_PORT:-8080}, every feed's good fixture files (and two
# malformed ones, to show refusals) in the partners' pickup folders on the SFTP server, one `dqt-bridge run`, then
# the summary, the run report (HTML and JSON) and a record read back through the API.
#
#   scripts/main-job.sh            from a fresh Debian 12 machine (as root) or a developer's tree
#
# Builds dqt-bridge and dqt-api in release (DQT_SCRATCH_PATH=DIR to build elsewhere than .build). Fresh databases
# dqt_main_job_api and dqt_main_job_ledger are made each time; everything else lives in .run/main-job/. dqt-api is
# stopped at the end; services that this script started are stopped too. Exit status: dqt-bridge run's (0 all good,
# 1 some rows or files refused, 2 failed); the fixtures include refused rows on purpose, so 1 is expected.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
JOB="$ROOT/.run/main-job"
PORT=${DQT_API_PORT:-8080}
SWIFT_FLAGS=(-c release)
[[ -n "${DQT_SCRATCH_PATH:-}" ]] && SWIFT_FLAGS+=(--scratch-path "$DQT_SCRATCH_PATH")

say() { printf '\n== %s\n' "$*"; }

bash scripts/setup.sh
command -v curl >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }

mapfile -t started < <(bash scripts/services.sh stopped)
API_PID=""
cleanup() {
    [[ -n "$API_PID" ]] && kill "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null || true
    if ((${#started[@]} > 0)); then bash scripts/services.sh stop "${started[@]}" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
bash scripts/services.sh start >/dev/null
set -a
# shellcheck disable=SC1091
. "$ROOT/.run/services.env"
set +a

say "building dqt-bridge and dqt-api (release)"
swift build "${SWIFT_FLAGS[@]}" --product dqt-api </dev/null 2>&1 | tail -n 1
swift build "${SWIFT_FLAGS[@]}" --product dqt-bridge </dev/null 2>&1 | tail -n 1
BIN=$(swift build "${SWIFT_FLAGS[@]}" --show-bin-path </dev/null)

say "fresh databases for dqt-api and the bridge's ledger"
BASE=${DQT_TEST_DATABASE_URL%/*}
PSQL=(psql -q -v ON_ERROR_STOP=1 "$DQT_TEST_DATABASE_URL")
"${PSQL[@]}" -c "DROP DATABASE IF EXISTS dqt_main_job_api WITH (FORCE)" -c "DROP DATABASE IF EXISTS dqt_main_job_ledger WITH (FORCE)" \
    -c "CREATE DATABASE dqt_main_job_api" -c "CREATE DATABASE dqt_main_job_ledger" 2>&1 | grep -v NOTICE || true
export DQT_API_DATABASE_URL="$BASE/dqt_main_job_api"
export DQT_BRIDGE_DATABASE_URL="$BASE/dqt_main_job_ledger"
rm -rf "$JOB" && mkdir -p "$JOB" && chmod 0700 "$JOB"
"$BIN/dqt-api" migrate
"$BIN/dqt-api" seed fixtures/api/persons.ndjson
# The key is printed once, as the last line; it goes straight into a file only this account can read.
(umask 077 && "$BIN/dqt-api" keys create --name dqt-bridge --rate-limit 100000 \
    --roles CapitaImport,UpdatePerson,SetWelshInduction,SetCpdInduction,SetProfessionalStatus,AssignQtls,SetWorkforceData,UpdateRole,ReadChanges \
    | tail -n 1 >"$JOB/api-key")
(umask 077 && "$BIN/dqt-api" keys create --name main-job-reader --roles GetPerson | tail -n 1 >"$JOB/reader-key")

say "dqt-api on 127.0.0.1:$PORT"
"$BIN/dqt-api" serve --port "$PORT" >"$JOB/dqt-api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break
    kill -0 "$API_PID" 2>/dev/null || { tail -n 20 "$JOB/dqt-api.log" >&2; echo "main-job: dqt-api did not start" >&2; exit 2; }
    sleep 0.1
done

say "the partners' files in their pickup folders on the SFTP server (sftp://$DQT_TEST_SFTP_USER@$DQT_TEST_SFTP_HOST:$DQT_TEST_SFTP_PORT/main-job/)"
PICKUP="$DQT_TEST_SFTP_ROOT/main-job"
rm -rf "$PICKUP" && mkdir -p "$PICKUP" && chmod 0777 "$PICKUP"
for mapping in mappings/*.yaml; do
    feed=$(basename "$mapping" .yaml)
    folder=$(awk '/^source:/{s=1;next} s&&/^[^ ]/{s=0} s&&/folder:/{print $2; exit}' "$mapping")
    marker=$(awk '/^source:/{s=1;next} s&&/^[^ ]/{s=0} s&&/doneMarker:/{print $2; exit}' "$mapping")
    [[ -n "$folder" && -d "fixtures/$feed/good" ]] || continue
    mkdir -p "$PICKUP/$folder"
    for file in "fixtures/$feed/good/"*; do
        cp "$file" "$PICKUP/$folder/"
        [[ -n "$marker" ]] && : >"$PICKUP/$folder/$(basename "$file")$marker"
    done
done
# Two refusals on purpose: rows with impossible dates, and a sender nobody allowed.
cp fixtures/ewc-induction/malformed/IND_bad_dates.csv "$PICKUP/ewc/pickup/" 2>/dev/null || true
cp fixtures/prohibition-notices/malformed/notices-sender-not-allowed.eml "$PICKUP/mail/inbox/" 2>/dev/null || true
find "$PICKUP" -type d -exec chmod 0777 {} + && find "$PICKUP" -type f -exec chmod 0666 {} +
(cd "$PICKUP" && find . -type f | sort | sed 's#^\./#  #')

cat >"$JOB/bridge.yaml" <<EOF
# Written by scripts/main-job.sh. The files were placed complete just now, so stability needs no waiting here
# (in production the mappings' stableSeconds/minimumAgeSeconds apply).
databaseURLEnv: DQT_BRIDGE_DATABASE_URL
mappings: $ROOT/mappings
workFolder: $JOB/work
metricsFile: $JOB/metrics/dqt_bridge.prom
reportsFolder: $JOB/reports
api:
  baseURL: http://127.0.0.1:$PORT
  keyFile: $JOB/api-key
sftp:
  host: $DQT_TEST_SFTP_HOST
  port: $DQT_TEST_SFTP_PORT
  user: $DQT_TEST_SFTP_USER
  keyFile: $DQT_TEST_SFTP_KEY
  knownHosts: $DQT_TEST_SFTP_KNOWN_HOSTS
  root: main-job
feeds:
EOF
for mapping in mappings/*.yaml; do
    echo "  $(basename "$mapping" .yaml): {stableSeconds: 0, minimumAgeSeconds: 0}" >>"$JOB/bridge.yaml"
done

say "dqt-bridge run"
status=0
DQT_BRIDGE_LOG_LEVEL=${DQT_BRIDGE_LOG_LEVEL:-warning} "$BIN/dqt-bridge" run --config "$JOB/bridge.yaml" 2>"$JOB/dqt-bridge.log" || status=$?

say "the run report"
"$BIN/dqt-bridge" report last --config "$JOB/bridge.yaml" | grep '^wrote'

say "ledger status"
"$BIN/dqt-bridge" status --config "$JOB/bridge.yaml" --runs 3

say "read back through the API: GET /v3/persons/1000002?include=Induction"
curl -fsS -H "Authorization: Bearer $(cat "$JOB/reader-key")" "http://127.0.0.1:$PORT/v3/persons/1000002?include=Induction" \
    | python3 -c 'import json,sys; p=json.load(sys.stdin); print("  trn", p["trn"], "induction", json.dumps(p.get("induction")))'

say "after the run"
(cd "$PICKUP" && find . -type f | sort | sed 's#^\./#  #')
echo
echo "logs: $JOB/dqt-bridge.log (JSON lines), metrics: $JOB/metrics/dqt_bridge.prom, reports: $JOB/reports/"
exit "$status"
