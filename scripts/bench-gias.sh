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
[ -x /usr/bin/time ] || { echo "bench-gias: /usr/bin/time is missing (Debian package 'time')" >&2; exit 2; }
if ! python3 -c 'import polars' 2>/dev/null; then
    echo "installing polars..." >&2
    pip install -q polars 2>/dev/null || pip install -q --break-system-packages polars
fi
mkdir -p "$WORK"
[ "$KEEP" = 1 ] || trap 'rm -rf "$WORK"' EXIT

if [ -n "${DQT_BRIDGE_BIN:-}" ]; then
    BRIDGE=$DQT_BRIDGE_BIN
else
    SCRATCH=${SCRATCH:-$ROOT/.build}
    echo "building dqt-bridge (release, $SCRATCH)..." >&2
    (cd "$ROOT" && swift build -c release --product dqt-bridge --scratch-path "$SCRATCH" >&2)
    BRIDGE="$(cd "$ROOT" && swift build -c release --product dqt-bridge --scratch-path "$SCRATCH" --show-bin-path)/dqt-bridge"
fi

FILE="$WORK/edubasealldata${TODAY//-/}.csv"
echo "generating $ROWS rows of $COLUMNS columns..." >&2
python3 "$ROOT/scripts/generate-gias.py" "$FILE" --rows "$ROWS" --columns "$COLUMNS"
SIZE_MB=$(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1])/1e6:.1f}')" "$FILE")

# Runs "$@" $RUNS times; prints the median wall seconds and the largest peak RSS (MB); leaves the last output.
bench() {
    local walls=() rss=0
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || {
            status=$?
            if [ "$status" -ne 1 ]; then echo "bench-gias: '$*' failed ($status):" >&2; cat "$WORK/err.txt" >&2; exit 1; fi
        }
        read -r wall kb < <(tail -n 1 "$WORK/time.txt")
        walls+=("$wall")
        [ "$kb" -gt "$rss" ] && rss=$kb
    done
    printf '%s\n' "${walls[@]}" | sort -g | awk -v kb="$rss" '{a[NR]=$1} END {printf "%s %.1f\n", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2, kb / 1024}'
}

echo "running polars x$RUNS..." >&2
read -r POLARS_WALL POLARS_MB < <(bench python3 "$ROOT/scripts/bench-gias-polars.py" "$FILE" "$TODAY")
POLARS_COUNTS=$(sed -n 's/^read \([0-9]*\) valid \([0-9]*\) invalid \([0-9]*\)$/\1 \2 \3/p' "$WORK/out.txt")
echo "running dqt-bridge x$RUNS..." >&2
read -r BRIDGE_WALL BRIDGE_MB < <(bench "$BRIDGE" check "$FILE" --feed gias-establishments --mappings "$ROOT/mappings" --today "$TODAY")
BRIDGE_COUNTS=$(sed -n 's/.*: read \([0-9]*\), accepted \([0-9]*\), rejected \([0-9]*\),.*/\1 \2 \3/p' "$WORK/out.txt" | head -n 1)

echo
echo "GIAS establishments: $ROWS rows x $COLUMNS columns, $SIZE_MB MB, Windows-1252; $RUNS runs each; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %14s %12s %24s\n' tool "median wall s" "peak RSS MB" "read valid invalid"
printf '%-8s %14s %12s %24s\n' polars "$POLARS_WALL" "$POLARS_MB" "${POLARS_COUNTS:-?}"
printf '%-8s %14s %12s %24s\n' bridge "$BRIDGE_WALL" "$BRIDGE_MB" "${BRIDGE_COUNTS:-?}"
awk -v p="$POLARS_WALL" -v b="$BRIDGE_WALL" 'BEGIN { printf "bridge vs polars: %.2fx faster; bridge under 1 s: %s\n", p / b, (b < 1 ? "yes" : "NO") }'
[ "$POLARS_COUNTS" = "$BRIDGE_COUNTS" ] && echo "read/valid/invalid counts agree ($BRIDGE_COUNTS)" || echo "COUNTS DISAGREE: polars $POLARS_COUNTS, bridge $BRIDGE_COUNTS"
