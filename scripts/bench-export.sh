#!/usr/bin/env bash
# The outbound export's figures (a benchmark, not a test), all on loopback with the real services:
#   1. 500,000 person.created changes seeded in the API's database, exported by one `dqt-bridge export
#      capita-export-new` (change feed -> fixed-width file -> SFTP, read back, renamed), beside `psql \copy` of the
#      same rows to a file (target: the export within 2x of psql);
#   2. the export's peak memory at two range sizes, 100,000 and 500,000 changes (target: flat).
#
#   scripts/bench-export.sh [--rows N]
#
# Builds dqt-bridge and dqt-api in release (DQT_SCRATCH_PATH=DIR to build elsewhere than .build; DQT_BRIDGE_BIN and
# DQT_API_BIN skip the builds), starts the services (scripts/services.sh), makes throwaway databases
# dqt_bench_export_api and dqt_bench_export_ledger, serves dqt-api on 127.0.0.1:${DQT_BENCH_API_PORT:-18491}, and
# removes it all at the end. capita-export-new is made live with an SFTP destination in a copy of the mappings.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
ROWS=500000
SMALL=100000
while (($#)); do
    case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    *) echo "usage: $0 [--rows N]" >&2; exit 2 ;;
    esac
done
((ROWS > SMALL)) || SMALL=$((ROWS / 5))
PORT=${DQT_BENCH_API_PORT:-18491}
BENCH=bench-export
BENCH_DB=dqt_bench_export
# shellcheck source=scripts/bench-harness.sh
. scripts/bench-harness.sh
bench_start

(umask 077 && "$API" keys create --name bench-export --roles ReadChanges --rate-limit 1000000 | tail -n 1 >"$WORK/api-key")
bench_serve_api

# Synthetic persons created as the Capita import endpoint creates them (an audit row with no `before`: person.created),
# straight into the bench API's throwaway database: the endpoint would take minutes for this many.
seed() {  # seed FIRST COUNT
    psql -q "$DQT_API_DATABASE_URL" <<SQL
INSERT INTO persons (trn, first_name, middle_name, last_name, date_of_birth, nino, gender)
    SELECT lpad((2000000 + g)::text, 7, '0'), 'Bench', CASE WHEN g % 3 = 0 THEN 'Middle' END, 'Person' || (g % 997),
           date '1960-01-01' + (g % 15000), 'JB' || lpad((g % 1000000)::text, 6, '0') || 'A', CASE WHEN g % 2 = 0 THEN 'Male' ELSE 'Female' END
    FROM generate_series($1, $1 + $2 - 1) AS g;
INSERT INTO audit (key_name, operation, method, path, trn, before, after)
    SELECT 'bench', 'capitaImportPerson', 'PUT', '/v3/capita/persons/' || p.trn, p.trn, NULL, to_jsonb(p)
    FROM persons p WHERE p.trn >= lpad((2000000 + $1)::text, 7, '0') AND p.trn <= lpad((2000000 + $1 + $2 - 1)::text, 7, '0')
    ORDER BY p.trn;
ANALYZE persons; ANALYZE audit;
SQL
}

cp -r mappings "$WORK/mappings"
M="$WORK/mappings/capita-export-new.yaml"
sed -i 's/^status: shadow/status: live/' "$M"
python3 - "$M" <<'PY'
import sys
path = sys.argv[1]; lines = open(path).read().split("\n"); out = []; skip = False
for line in lines:
    if line == "destination:": out += ["destination:", "  sftp: out"]; skip = True; continue
    if skip and line.startswith(" "): continue
    skip = False; out.append(line)
open(path, "w").write("\n".join(out))
PY
DEST="$DQT_TEST_SFTP_ROOT/bench-export"
BENCH_DEST=$DEST
rm -rf "$DEST" && mkdir -p "$DEST/out" && chmod -R 0777 "$DEST"
cat >"$WORK/bridge.yaml" <<EOF
mappings: $WORK/mappings
workFolder: $WORK/work
metricsFile: $WORK/metrics.prom
api: {baseURL: "http://127.0.0.1:$PORT", keyFile: $WORK/api-key}
sftp: {host: $DQT_TEST_SFTP_HOST, port: $DQT_TEST_SFTP_PORT, user: $DQT_TEST_SFTP_USER, keyFile: $DQT_TEST_SFTP_KEY,
       knownHosts: $DQT_TEST_SFTP_KNOWN_HOSTS, root: bench-export, readBufferKiB: 1024}
EOF

now() { date +%s.%N; }
# One export under GNU time (its own peak RSS, not the shell's): sets SECONDS_TAKEN and PEAK_MB.
export_once() {  # export_once LABEL
    local t0 t1
    t0=$(now)
    DQT_BRIDGE_LOG_LEVEL=warning /usr/bin/time -f "%M" -o "$WORK/$1.rss" "$BRIDGE" export capita-export-new --config "$WORK/bridge.yaml" \
        >"$WORK/$1.txt" 2>"$WORK/$1.log" || { cat "$WORK/$1.txt" "$WORK/$1.log" >&2; exit 1; }
    t1=$(now)
    SECONDS_TAKEN=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    PEAK_MB=$(awk '{ printf "%.1f", $1 / 1024 }' "$WORK/$1.rss")
}

echo "bench-export: seeding $SMALL changes and exporting them; then $ROWS more, exporting those" >&2
seed 0 "$SMALL"
export_once small
SMALL_S=$SECONDS_TAKEN; SMALL_MB=$PEAK_MB
seed "$SMALL" "$ROWS"
sleep 1  # file names carry the second
export_once large
LARGE_S=$SECONDS_TAKEN; LARGE_MB=$PEAK_MB
LARGE_FILE=$(ls -t "$DEST/out" | head -n 1)
LINES=$(wc -l <"$DEST/out/$LARGE_FILE")
BYTES=$(stat -c %s "$DEST/out/$LARGE_FILE")

# The peer: the same rows (the persons of the second range) straight out of the API's database, best of 3.
FIRST_TRN=$(printf %07d $((2000000 + SMALL)))
BEST=""
for _ in 1 2 3; do
    t0=$(now)
    psql -q "$DQT_API_DATABASE_URL" -c "\\copy (SELECT trn, gender, date_of_birth, last_name, first_name, middle_name FROM persons WHERE trn >= '$FIRST_TRN' ORDER BY trn) TO '$WORK/psql-copy.txt'"
    t1=$(now)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    if [[ -z "$BEST" ]] || awk -v a="$t" -v b="$BEST" 'BEGIN { exit !(a < b) }'; then BEST=$t; fi
done

echo
echo "dqt-bridge export figures ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d" " -f1-3 /proc/loadavg))"
printf '  %-62s %10s %10s\n' "figure" "measured" "target"
printf '  %-62s %9ss\n' "export of $SMALL changes (change feed -> file -> SFTP, verified)" "$SMALL_S"
printf '  %-62s %9ss\n' "export of $ROWS changes ($LINES lines, $((BYTES / 1000000)) MB)" "$LARGE_S"
printf '  %-62s %9ss\n' "psql \\copy of the same $ROWS rows to a file (best of 3)" "$BEST"
printf '  %-62s %9sx %10s\n' "export against psql \\copy" "$(awk -v a="$LARGE_S" -v b="$BEST" 'BEGIN { printf "%.1f", a / b }')" "<= 2x"
printf '  %-62s %8s MB\n' "peak memory, $SMALL-change range" "$SMALL_MB"
printf '  %-62s %8s MB %10s\n' "peak memory, $ROWS-change range" "$LARGE_MB" "flat"
echo
sed 's/^/  /' "$WORK/large.txt"
