#!/usr/bin/env bash
# SFTP download benchmark (a benchmark, not a test): one 200 MB file of random bytes in the test SFTP server's home,
# downloaded over loopback by OpenSSH's `sftp` client and by the project's SFTP module (Benchmarks/SFTPBench, built
# in release), best of N runs each; prints both throughputs and their ratio (target: the module within 10 % of OpenSSH's
# client). The module downloads a file this large over --streams SFTP sessions at once
# (SFTPConfiguration.downloadStreams; 1 = one session, as a server that limits sessions would leave it).
#
#   scripts/bench-sftp.sh [--size-mb N] [--runs N] [--buffer BYTES] [--streams N]
# Environment: DQT_SCRATCH_PATH=DIR builds in DIR instead of .build.
# Starts the services if needed (scripts/services.sh) and stops those it started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

SIZE_MB=200
RUNS=3
BUFFER=$((256 * 1024))
STREAMS=2
while (($#)); do
    case "$1" in
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --buffer) BUFFER=$2; shift 2 ;;
    --streams) STREAMS=$2; shift 2 ;;
    *) echo "usage: $0 [--size-mb N] [--runs N] [--buffer BYTES] [--streams N]" >&2; exit 2 ;;
    esac
done
SWIFT_FLAGS=()
[[ -n "${DQT_SCRATCH_PATH:-}" ]] && SWIFT_FLAGS+=(--scratch-path "$DQT_SCRATCH_PATH")

bash scripts/setup.sh
was_running=$(bash scripts/services.sh status 2>/dev/null || true)
started=()
grep -q '^postgresql: running' <<<"$was_running" || started+=(postgresql)
grep -q '^sshd: running' <<<"$was_running" || started+=(sshd)
WORK=$(mktemp -d /var/tmp/dqt-bench-sftp.XXXXXX)
cleanup() {
    rm -rf "$WORK"
    if ((${#started[@]} > 0)); then bash scripts/services.sh stop "${started[@]}" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
bash scripts/services.sh start >/dev/null
set -a
. "$ROOT/.run/services.env"
set +a

echo "bench-sftp: building SFTPBench (release)"
swift build -c release --product SFTPBench "${SWIFT_FLAGS[@]}" </dev/null >"$WORK/build.log" 2>&1 || {
    tail -n 30 "$WORK/build.log" >&2
    exit 1
}
BIN=$(swift build -c release --product SFTPBench "${SWIFT_FLAGS[@]}" --show-bin-path </dev/null)/SFTPBench

REMOTE="$DQT_TEST_SFTP_ROOT/bench-${SIZE_MB}MB.dat"
BYTES=$((SIZE_MB * 1000 * 1000))
if [[ ! -f "$REMOTE" || $(stat -c %s "$REMOTE") -ne $BYTES ]]; then
    echo "bench-sftp: creating $REMOTE ($SIZE_MB MB of random bytes)"
    head -c "$BYTES" /dev/urandom >"$REMOTE.tmp" && mv "$REMOTE.tmp" "$REMOTE"
    chmod 0644 "$REMOTE"
fi
EXPECTED=$(sha256sum "$REMOTE" | cut -d' ' -f1)
cat "$REMOTE" >/dev/null # warm the page cache for both sides

now() { date +%s.%N; }
# Best MB/s of OpenSSH's sftp over $RUNS runs; extra arguments go to sftp (e.g. a cipher).
openssh_best() {
    local best=0 run start rate
    for run in $(seq 1 "$RUNS"); do
        rm -f "$WORK/openssh.dat"
        start=$(now)
        echo "get $REMOTE $WORK/openssh.dat" | sftp -q -b - -P "$DQT_TEST_SFTP_PORT" -i "$DQT_TEST_SFTP_KEY" "$@" \
            -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
            -o UserKnownHostsFile="$DQT_TEST_SFTP_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
            "$DQT_TEST_SFTP_USER@$DQT_TEST_SFTP_HOST" >/dev/null
        sync "$WORK/openssh.dat" # the module flushes its file to disk before renaming it into place: same for both
        rate=$(awk -v a="$start" -v b="$(now)" -v n="$BYTES" 'BEGIN { printf "%.1f", n / 1e6 / (b - a) }')
        echo "openssh sftp $* run=$run mb_per_s=$rate" >&2
        best=$(awk -v a="$best" -v b="$rate" 'BEGIN { print (b > a ? b : a) }')
    done
    [[ $(sha256sum "$WORK/openssh.dat" | cut -d' ' -f1) == "$EXPECTED" ]] || { echo "openssh copy differs" >&2; exit 1; }
    rm -f "$WORK/openssh.dat"
    echo "$best"
}
# OpenSSH negotiates chacha20-poly1305 by default; libssh2 1.10 (Debian 12) offers neither it nor AES-GCM and ends
# on aes128-ctr with hmac-sha2-256, so the client is also measured with that pair: the same work on the wire.
best_openssh=$(openssh_best)
best_openssh_same=$(openssh_best -c aes128-ctr -o MACs=hmac-sha2-256)

out=$("$BIN" "$REMOTE" "$WORK/module.dat" --runs "$RUNS" --buffer "$BUFFER" --streams "$STREAMS")
sed 's/^/SFTP module /' <<<"$out" | grep -v best_mb_per_s
best_module=$(sed -n 's/^best_mb_per_s=//p' <<<"$out")
[[ $(grep -c "sha256=$EXPECTED" <<<"$out") -eq $RUNS ]] || { echo "module's SHA-256 differs from sha256sum's" >&2; exit 1; }
used=$(sed -n 's/.* streams=\([0-9]*\)$/\1/p' <<<"$out" | sort -u | paste -sd/)

echo
echo "file: $SIZE_MB MB over 127.0.0.1:$DQT_TEST_SFTP_PORT, best of $RUNS runs, read buffer $BUFFER bytes ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "OpenSSH sftp client: $best_openssh MB/s (its default cipher, chacha20-poly1305)"
echo "OpenSSH sftp client: $best_openssh_same MB/s (aes128-ctr + hmac-sha2-256, what libssh2 1.10 negotiates)"
echo "SFTP module:         $best_module MB/s ($used SFTP session(s) of $STREAMS allowed; SHA-256 computed while downloading, verified)"
awk -v m="$best_module" -v o="$best_openssh" -v s="$best_openssh_same" 'BEGIN {
    printf "ratio module/openssh: %.2f against its default cipher, %.2f with the same cipher and MAC (target >= 0.90)\n", m / o, m / s }'
