# Sourced by the `dqt-bridge check` benchmarks (bench-check.sh, bench-gias.sh): the tools they need, the release
# build and the timed runs, so both measure the same way. The caller sets NAME (for messages), ROOT, WORK and RUNS.

# Fails unless GNU time is there; installs the Python modules named (pip) when one is missing.
bench_require() {
    [ -x /usr/bin/time ] || { echo "$NAME: /usr/bin/time is missing (Debian package 'time')" >&2; exit 2; }
    local modules
    modules=$(IFS=,; echo "$*")
    if ! python3 -c "import $modules" 2>/dev/null; then
        echo "installing $*..." >&2
        pip install -q "$@" 2>/dev/null || pip install -q --break-system-packages "$@"
    fi
}

# Sets BRIDGE: DQT_BRIDGE_BIN when given, else dqt-bridge built in release in SCRATCH (default .build; several
# people building at once each use their own).
bench_bridge_binary() {
    if [ -n "${DQT_BRIDGE_BIN:-}" ]; then
        BRIDGE=$DQT_BRIDGE_BIN
        return
    fi
    local scratch=${SCRATCH:-$ROOT/.build}
    echo "building dqt-bridge (release, $scratch)..." >&2
    (cd "$ROOT" && swift build -c release --product dqt-bridge --scratch-path "$scratch" >&2)
    BRIDGE="$(cd "$ROOT" && swift build -c release --product dqt-bridge --scratch-path "$scratch" --show-bin-path)/dqt-bridge"
}

# One measured run: prints "wall_s peak_kb" and leaves the tool's standard output in $WORK/out.txt.
measure() {
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || {
        status=$?
        # dqt-bridge exits 1 when rows are rejected: that is a result, not a failure.
        if [ "$status" -ne 1 ]; then echo "$NAME: '$*' failed ($status):" >&2; cat "$WORK/err.txt" >&2; exit 1; fi
    }
    tail -n 1 "$WORK/time.txt"
}

# Runs a tool $RUNS times; sets WALLS, RSS (max KB) and COUNTS ("read valid invalid" from its last output). KIND is
# peer (a Python script printing "read R valid V invalid I") or bridge (dqt-bridge check's summary line).
bench() {
    local kind=$1; shift
    WALLS=(); RSS=0; COUNTS=""
    for _ in $(seq "$RUNS"); do
        read -r wall kb < <(measure "$@")
        WALLS+=("$wall")
        [ "$kb" -gt "$RSS" ] && RSS=$kb
    done
    case "$kind" in
        peer) COUNTS=$(sed -n 's/^read \([0-9]*\) valid \([0-9]*\) invalid \([0-9]*\)$/\1 \2 \3/p' "$WORK/out.txt") ;;
        bridge) COUNTS=$(sed -n 's/.*: read \([0-9]*\), accepted \([0-9]*\), rejected \([0-9]*\),.*/\1 \2 \3/p' "$WORK/out.txt" | head -n 1) ;;
    esac
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
megabytes() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }
file_megabytes() { python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1])/1e6:.1f}')" "$1"; }
