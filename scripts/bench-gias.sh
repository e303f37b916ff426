#!/usr/bin/env bash
# Benchmark of `dqt-bridge check` on a synthetic GIAS establishments file (edubasealldata<yyyyMMdd>.csv: Windows-1252,
# 50,000 rows of 130 columns by default) beside polars with the same rules (scripts/bench-gias-polars.py). A
# benchmark, not a test: it measures and prints.
#
#   scripts/bench-gias.sh [--rows N] [--columns N] [--runs N] [--keep]
# Environment: SCRATCH=path builds in that scratch folder instead of .build; DQT_BRIDGE_BIN=path skips the build;
# BENCH_DIR=path is where the file is written (default /tmp/dqt-bench-gias).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=50000
COLUMNS=130
RUNS=5
KEEP=0
WORK=${BENCH_DIR:-/tmp/dqt-bench-gias}
TODAY=2026-12-06
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS=$2; shift 2 ;;
        --columns) COLUMNS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "bench-gias: unknown argument $1" >&2; exit 2 ;;
    esac
done
NAME=bench-gias
. "$ROOT/scripts/bench-check-lib.sh"
bench_require polars
mkdir -p "$WORK"
[ "$KEEP" = 1 ] || trap 'rm -rf "$WORK"' EXIT
bench_bridge_binary

FILE="$WORK/edubasealldata${TODAY//-/}.csv"
echo "generating $ROWS rows of $COLUMNS columns..." >&2
python3 "$ROOT/scripts/generate-gias.py" "$FILE" --rows "$ROWS" --columns "$COLUMNS"
SIZE_MB=$(file_megabytes "$FILE")

echo "running polars x$RUNS..." >&2
bench peer python3 "$ROOT/scripts/bench-gias-polars.py" "$FILE" "$TODAY"
POLARS_WALL=$(median "${WALLS[@]}") POLARS_MB=$(megabytes "$RSS") POLARS_COUNTS=$COUNTS
echo "running dqt-bridge x$RUNS..." >&2
bench bridge "$BRIDGE" check "$FILE" --feed gias-establishments --mappings "$ROOT/mappings" --today "$TODAY"
BRIDGE_WALL=$(median "${WALLS[@]}") BRIDGE_MB=$(megabytes "$RSS") BRIDGE_COUNTS=$COUNTS
echo
echo "GIAS establishments: $ROWS rows x $COLUMNS columns, $SIZE_MB MB, Windows-1252; $RUNS runs each; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %14s %12s %24s\n' tool "median wall s" "peak RSS MB" "read valid invalid"
printf '%-8s %14s %12s %24s\n' polars "$POLARS_WALL" "$POLARS_MB" "${POLARS_COUNTS:-?}"
printf '%-8s %14s %12s %24s\n' bridge "$BRIDGE_WALL" "$BRIDGE_MB" "${BRIDGE_COUNTS:-?}"
awk -v p="$POLARS_WALL" -v b="$BRIDGE_WALL" 'BEGIN { printf "bridge vs polars: %.2fx faster; bridge under 1 s: %s\n", p / b, (b < 1 ? "yes" : "NO") }'
[ "$POLARS_COUNTS" = "$BRIDGE_COUNTS" ] && echo "read/valid/invalid counts agree ($BRIDGE_COUNTS)" || echo "COUNTS DISAGREE: polars $POLARS_COUNTS, bridge $BRIDGE_COUNTS"
