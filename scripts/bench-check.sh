#!/usr/bin/env bash
# Benchmark of `dqt-bridge check` on a TPS workforce extract against the same validation written with pandas and
# with polars (../shared/bench). A benchmark, not a test: it measures and prints, one run.
#
#   scripts/bench-check.sh [--rows N] [--runs N] [--big SIZE_GB] [--keep]
#     --rows N      rows in the generated extract (default 500000, about 54 MB)
#     --runs N      runs of each tool; the median wall time and the largest peak RSS are shown (default 3)
#     --big SIZE_GB also build a SIZE_GB file by repeating the extract's data rows (streamed, never in memory) and
#                   print the bridge's peak RSS on it: memory must stay flat (< 64 MB)
#     --keep        keep the generated files (in $BENCH_DIR, default /tmp/dqt-bench-check)
# Environment: SCRATCH=path builds in that scratch folder instead of .build; DQT_BRIDGE_BIN=path skips the build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED="$ROOT/../shared/bench"
ROWS=500000
RUNS=3
BIG=""
KEEP=0
WORK=${BENCH_DIR:-/tmp/dqt-bench-check}
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --big) BIG=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "bench-check: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -f "$SHARED/gen_tps.py" ] || { echo "bench-check: no $SHARED/gen_tps.py" >&2; exit 2; }
NAME=bench-check
. "$ROOT/scripts/bench-check-lib.sh"
bench_require pandas polars
mkdir -p "$WORK"
[ "$KEEP" = 1 ] || trap 'rm -rf "$WORK"' EXIT
bench_bridge_binary

FILE="$WORK/Workforce-Dataset-1-20261025-1329.csv"
echo "generating $ROWS rows..." >&2
BROKEN=$(python3 "$SHARED/gen_tps.py" "$FILE" "$ROWS")
SIZE_MB=$(file_megabytes "$FILE")

declare -A WALL MEM READ VALID INVALID
for tool in pandas polars bridge; do
    echo "running $tool x$RUNS..." >&2
    case "$tool" in
        pandas) bench peer python3 "$SHARED/peer_pandas.py" "$FILE" ;;
        polars) bench peer python3 "$SHARED/peer_polars.py" "$FILE" ;;
        bridge) bench bridge "$BRIDGE" check "$FILE" --feed tps-workforce --mappings "$ROOT/mappings" --today 2026-11-21 ;;
    esac
    WALL[$tool]=$(median "${WALLS[@]}")
    MEM[$tool]=$(megabytes "$RSS")
    read -r READ[$tool] VALID[$tool] INVALID[$tool] <<<"${COUNTS:-? ? ?}"
done

echo
echo "TPS workforce extract: $ROWS rows, $SIZE_MB MB, $BROKEN rows broken on purpose; $RUNS runs each; $(nproc) cores"
printf '%-8s %14s %14s %10s %10s %10s\n' tool "median wall s" "peak RSS MB" read valid invalid
for tool in pandas polars bridge; do
    printf '%-8s %14s %14s %10s %10s %10s\n' "$tool" "${WALL[$tool]}" "${MEM[$tool]}" "${READ[$tool]}" "${VALID[$tool]}" "${INVALID[$tool]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "bridge vs polars: $(ratio "${WALL[polars]}" "${WALL[bridge]}")x faster (target: > 1x)"
echo "bridge vs pandas: $(ratio "${WALL[pandas]}" "${WALL[bridge]}")x faster (target: >= 10x)"
agree=1
for tool in pandas polars; do
    if [ "${VALID[$tool]}" != "${VALID[bridge]}" ] || [ "${INVALID[$tool]}" != "${INVALID[bridge]}" ]; then
        echo "COUNTS DISAGREE: $tool valid/invalid ${VALID[$tool]}/${INVALID[$tool]}, bridge ${VALID[bridge]}/${INVALID[bridge]}"
        agree=0
    fi
done
[ "$agree" = 1 ] && echo "valid/invalid counts agree across the three tools (${VALID[bridge]}/${INVALID[bridge]})"
[ "${INVALID[bridge]}" = "$BROKEN" ] || echo "note: the generator broke $BROKEN rows, the bridge rejected ${INVALID[bridge]}"

if [ -n "$BIG" ]; then
    BIGFILE="$WORK/Workforce-Dataset-2-20261025-1329.csv"
    echo >&2
    echo "building a ${BIG} GB file by repeating the data rows..." >&2
    # Streamed: the preamble and header once, then the data rows over and over until the size is reached.
    python3 - "$FILE" "$BIGFILE" "$BIG" <<'PY'
import sys
src, dst, gb = sys.argv[1], sys.argv[2], float(sys.argv[3])
target = int(gb * 1e9)
with open(src, "rb") as f:
    head = [f.readline() for _ in range(8)]
    body_start = f.tell()
with open(dst, "wb") as out:
    for line in head: out.write(line)
    written = sum(map(len, head))
    while written < target:
        with open(src, "rb") as f:
            f.seek(body_start)
            while written < target:
                chunk = f.read(1 << 20)
                if not chunk: break
                # Keep whole lines only at the end of the file.
                if written + len(chunk) >= target:
                    cut = chunk.rfind(b"\n", 0, max(1, target - written)) + 1
                    chunk = chunk[:cut] if cut > 0 else chunk[: chunk.find(b"\n") + 1]
                out.write(chunk); written += len(chunk)
PY
    BIG_GB=$(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1])/1e9:.2f}')" "$BIGFILE")
    echo "running bridge on the ${BIG_GB} GB file..." >&2
    read -r wall kb < <(measure "$BRIDGE" check "$BIGFILE" --feed tps-workforce --mappings "$ROOT/mappings" --today 2026-11-21)
    mb=$(megabytes "$kb")
    echo
    echo "big file: ${BIG_GB} GB, bridge wall ${wall} s, peak RSS ${mb} MB ($(awk -v m="$mb" 'BEGIN {print (m < 64) ? "flat: under 64 MB" : "OVER 64 MB"}'))"
    sed -n '1p' "$WORK/out.txt"
    rm -f "$BIGFILE"
fi
