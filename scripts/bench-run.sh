#!/usr/bin/env bash
# The unattended run's figures (a benchmark, not a test), all on loopback with the real services:
#   1. a 500,000-row TPS workforce extract taken from the SFTP server into dqt-api by one `dqt-bridge run`
#      (target: 30 s or less on this machine);
#   2. a run with nothing new (target: under 1 s);
#   3. the run's download of that file against OpenSSH's `sftp` client on the same file (target: within 10 %;
#      scripts/bench-sftp.sh measures the SFTP module alone on a 200 MB file).
#
#   scripts/bench-run.sh [--rows N] [--batch N] [--concurrency N]
#
# Builds dqt-bridge and dqt-api in release (DQT_SCRATCH_PATH=DIR to build elsewhere than .build; DQT_BRIDGE_BIN and
# DQT_API_BIN skip the builds), starts the services (scripts/services.sh), makes throwaway databases
# dqt_bench_api and dqt_bench_ledger, serves dqt-api on 127.0.0.1:${DQT_BENCH_API_PORT:-18490}, and removes it all at
# the end. The feed is switched to live in a copy of the mappings (tps-workforce is shadow in mappings/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
ROWS=500000
BATCH=1000
CONCURRENCY=4
while (($#)); do
    case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    *) echo "usage: $0 [--rows N] [--batch N] [--concurrency N]" >&2; exit 2 ;;
    esac
done
PORT=${DQT_BENCH_API_PORT:-18490}
BENCH=bench-run
BENCH_DB=dqt_bench
# shellcheck source=scripts/bench-harness.sh
. scripts/bench-harness.sh
bench_start

# Synthetic persons for every TRN of the extract (employments need an existing person): straight into the bench API's
# throwaway database, as the seed command would take minutes for this many.
psql -q "$DQT_API_DATABASE_URL" -c "INSERT INTO persons (trn, first_name, last_name, date_of_birth)
    SELECT lpad((1000000 + g)::text, 7, '0'), 'Bench', 'Person', date '1970-01-01' FROM generate_series(0, $ROWS - 1) AS g"
(umask 077 && "$API" keys create --name bench-bridge --roles SetWorkforceData,ReadChanges --rate-limit 1000000 | tail -n 1 >"$WORK/api-key")
bench_serve_api --max-batch-operations 1000

echo "bench-run: generating a $ROWS-row TPS workforce extract" >&2
NAME="Workforce-Dataset-1-20261120-1329.csv"
python3 - "$WORK/$NAME" "$ROWS" <<'PY'
import random, sys, datetime
out, rows = sys.argv[1], int(sys.argv[2]); r = random.Random(11)
P1 = "ABCEGHJKLMNOPRSTWXYZ"; P2 = "ABCEGHJKLMNPRSTWXYZ"
def nino():
    while True:
        p = r.choice(P1) + r.choice(P2)
        if p not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"): return p + "%06d" % r.randrange(1000000) + r.choice("ABCD")
def day(a, b):
    start = datetime.date(a, 1, 1); return start + datetime.timedelta(days=r.randrange((datetime.date(b, 1, 1) - start).days))
f = lambda d: d.strftime("%d/%m/%Y")
with open(out, "w", newline="") as w:
    for i in range(7): w.write("RESTRICTED - OFFICIAL SENSITIVE - synthetic benchmark extract line %d\r\n" % (i + 1))
    w.write("Teachers Pensions Reference Number (TRN),National Insurance Number (NINO),Date of Birth (DOB),Date of Death,Postcode,Email Address (Member),Local Authority Code,Establishment Code,Postcode (Establishment),Email Address (Establishment),Start Date,End Date,Full Time / Part Time Indicator,Withdrawal Indicator,Extract Date,Gender\r\n")
    for i in range(rows):
        start = day(2005, 2026)
        w.write(",".join(["%07d" % (1000000 + i), nino(), f(day(1960, 2001)), "", "SW1A %dAA" % r.randrange(10), "",
            "%03d" % r.randrange(201, 938), "%04d" % r.randrange(1000, 7999), "M1 %dAA" % r.randrange(10), "", f(start),
            f(start + datetime.timedelta(days=r.randrange(30, 400))), r.choice(["FT", "FT", "PTR", "PTI", "PT"]), "", "25/10/2026",
            r.choice(["Male", "Female"])]) + "\r\n")
PY
BYTES=$(stat -c %s "$WORK/$NAME")

cp -r mappings "$WORK/mappings"
sed -i 's/^status: shadow/status: live/' "$WORK/mappings/tps-workforce.yaml"
PICKUP="$DQT_TEST_SFTP_ROOT/bench-run"
BENCH_DEST=$PICKUP
rm -rf "$PICKUP" && mkdir -p "$PICKUP/tps/workforce" && chmod -R 0777 "$PICKUP"
cp "$WORK/$NAME" "$PICKUP/tps/workforce/" && : >"$PICKUP/tps/workforce/$NAME.done"
chmod 0666 "$PICKUP/tps/workforce/"*
cat >"$WORK/bridge.yaml" <<EOF
mappings: $WORK/mappings
workFolder: $WORK/work
metricsFile: $WORK/metrics.prom
api: {baseURL: "http://127.0.0.1:$PORT", keyFile: $WORK/api-key, batchSize: $BATCH, concurrency: $CONCURRENCY}
sftp: {host: $DQT_TEST_SFTP_HOST, port: $DQT_TEST_SFTP_PORT, user: $DQT_TEST_SFTP_USER, keyFile: $DQT_TEST_SFTP_KEY,
       knownHosts: $DQT_TEST_SFTP_KNOWN_HOSTS, root: bench-run, readBufferKiB: 1024}
EOF

now() { date +%s.%N; }
# CPU seconds, which a busy shared machine distorts far less than wall time: dqt-bridge's from the shell's children
# times, dqt-api's and PostgreSQL's (every process of the cluster, both databases) from /proc.
children_cpu() {  # sets CHILDREN_CPU (`times` must run in this shell, not in a command substitution)
    times >"$WORK/times"
    CHILDREN_CPU=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.2f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$WORK/times")
}
# A process can exit between being listed and being read (autovacuum workers come and go during the run): its
# missing stat file must not fail the script (pipefail).
proc_cpu() { { cat "${@/#//proc/}" 2>/dev/null || true; } | awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); t += $12 + $13 + $14 + $15 } END { printf "%.2f", t / hz }'; }
PG_MAIN=$(head -n 1 "$(psql -Atq "$DQT_TEST_DATABASE_URL" -c "SHOW data_directory")/postmaster.pid")
pg_cpu() { proc_cpu "$PG_MAIN/stat" $(pgrep -P "$PG_MAIN" | sed 's#$#/stat#'); }
echo "bench-run: dqt-bridge run (SFTP -> check -> ledger -> API), $ROWS rows, $((BYTES / 1000000)) MB" >&2
children_cpu; b0=$CHILDREN_CPU; a0=$(proc_cpu "$API_PID/stat"); p0=$(pg_cpu)
t0=$(now)
status=0
DQT_BRIDGE_LOG_LEVEL=warning "$BRIDGE" run --config "$WORK/bridge.yaml" --feed tps-workforce >"$WORK/run1.txt" 2>"$WORK/run1.log" || status=$?
t1=$(now)
children_cpu; b1=$CHILDREN_CPU; a1=$(proc_cpu "$API_PID/stat"); p1=$(pg_cpu)
RUN1=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
stage() { awk -v s="$1" -F'[{}" ]+' '$1 == "dqt_bridge_stage_seconds_total" && $3 == s { printf "%.2f", $4 }' "$WORK/metrics.prom"; }
FETCH=$(stage fetch); CHECK=$(stage check); PUBLISH=$(stage publish); ARCHIVE=$(stage archive)
PUBLISHED=$(psql -Atq "$DQT_BRIDGE_DATABASE_URL" -c "SELECT count(*) FROM bridge.records WHERE outcome = 'published'")
FAILED=$(psql -Atq "$DQT_BRIDGE_DATABASE_URL" -c "SELECT count(*) FROM bridge.records WHERE outcome = 'failed'")
APPLIED=$(psql -Atq "$DQT_API_DATABASE_URL" -c "SELECT count(*) FROM employments")

t0=$(now)
DQT_BRIDGE_LOG_LEVEL=warning "$BRIDGE" run --config "$WORK/bridge.yaml" >"$WORK/run2.txt" 2>"$WORK/run2.log" || true
t1=$(now)
RUN2=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')

# OpenSSH's sftp client on the same file (it is in processed/ now), best of 3.
ARCHIVED=$(cd "$PICKUP/tps/processed" && ls | grep -v '\.done$' | head -n 1)
BEST=""
for _ in 1 2 3; do
    rm -f "$WORK/sftp-copy"
    t0=$(now)
    sftp -q -b - -i "$DQT_TEST_SFTP_KEY" -o UserKnownHostsFile="$DQT_TEST_SFTP_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
        -P "$DQT_TEST_SFTP_PORT" "$DQT_TEST_SFTP_USER@$DQT_TEST_SFTP_HOST" >/dev/null <<<"get bench-run/tps/processed/$ARCHIVED $WORK/sftp-copy"
    t1=$(now)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    if [[ -z "$BEST" ]] || awk -v a="$t" -v b="$BEST" 'BEGIN { exit !(a < b) }'; then BEST=$t; fi
done

echo
echo "dqt-bridge run figures ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), batch $BATCH x $CONCURRENCY, load $(cut -d" " -f1-3 /proc/loadavg))"
printf '  %-58s %10s %10s\n' "figure" "measured" "target"
printf '  %-58s %9ss %10s\n' "$ROWS-row TPS extract, SFTP to API, whole run (exit $status)" "$RUN1" "<= 30 s"
printf '  %-58s %10s\n' "  rows/s over the whole run" "$(awk -v n="$ROWS" -v t="$RUN1" 'BEGIN { printf "%d", n / t }')"
printf '  %-58s %9ss\n' "  fetch (SFTP, streaming SHA-256)" "$FETCH"
printf '  %-58s %9ss\n' "  check + stage in the ledger (COPY)" "$CHECK"
printf '  %-58s %9ss\n' "  publish (POST /v3/batches, ledger acknowledgements)" "$PUBLISH"
printf '  %-58s %9ss\n' "  archive (rename into processed/)" "$ARCHIVE"
printf '  %-58s %10s\n' "  records published / refused by the API / rows in the API" "$PUBLISHED / $FAILED / $APPLIED"
printf '  %-58s %9ss\n' "  CPU: dqt-bridge" "$(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.2f", b - a }')"
printf '  %-58s %9ss\n' "  CPU: dqt-api" "$(awk -v a="$a0" -v b="$a1" 'BEGIN { printf "%.2f", b - a }')"
printf '  %-58s %9ss\n' "  CPU: PostgreSQL (the API's database and the ledger)" "$(awk -v a="$p0" -v b="$p1" 'BEGIN { printf "%.2f", b - a }')"
printf '  %-58s %9ss %10s\n' "a run with nothing new" "$RUN2" "< 1 s"
printf '  %-58s %9ss\n' "OpenSSH sftp get of the same $((BYTES / 1000000)) MB file (best of 3)" "$BEST"
printf '  %-58s %9s%% %10s\n' "the run's fetch against sftp" "$(awk -v a="$FETCH" -v b="$BEST" 'BEGIN { printf "%+.0f", (a / b - 1) * 100 }')" "<= +10 %"
echo
sed 's/^/  /' "$WORK/run1.txt"
