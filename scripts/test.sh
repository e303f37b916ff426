#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine or a developer's tree:
#   installs the Debian packages (scripts/setup.sh), starts PostgreSQL, sshd and Dovecot on loopback (scripts/services.sh),
#   builds with the tests, runs `swift test` with .run/services.env exported, then the contract test
#   (scripts/contract-test.sh) and the formatting check (swift-format lint), stops the services it started, and
#   exits non-zero when any of them failed. Extra arguments go to `swift test` (e.g. --filter SFTPTests).
# Environment: DQT_SCRATCH_PATH=DIR builds in DIR instead of .build (several people building in one tree).
# Works unattended (CI=true, no stdin). Services that were already running before are left running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

SWIFT_FLAGS=()
[[ -n "${DQT_SCRATCH_PATH:-}" ]] && SWIFT_FLAGS+=(--scratch-path "$DQT_SCRATCH_PATH")

bash scripts/setup.sh

# Remember which services ran before, so a colleague's running services survive this run.
mapfile -t started < <(bash scripts/services.sh stopped)
cleanup() {
    if ((${#started[@]} > 0)); then
        bash scripts/services.sh stop "${started[@]}" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash scripts/services.sh start

start=$(now)
echo "test.sh: swift build --build-tests"
if ! swift build --build-tests "${SWIFT_FLAGS[@]}" </dev/null; then
    echo "test.sh: build failed after $(elapsed "$start") s" >&2
    exit 1
fi
echo "test.sh: build took $(elapsed "$start") s"

set -a
# shellcheck disable=SC1091
. "$ROOT/.run/services.env"
set +a

start=$(now)
status=0
mkdir -p "$ROOT/.run"
set +e
swift test "${SWIFT_FLAGS[@]}" "$@" </dev/null 2>&1 | tee "$ROOT/.run/swift-test.log"
status=${PIPESTATUS[0]}
set -e
echo "test.sh: swift test took $(elapsed "$start") s (exit $status)"
# The fault, crash and security suites' one results table (scenario, runs, expected, applied, lost, duplicated).
bash scripts/print-suite-results.sh --since "${start%.*}" || status=1
# The contract test: schemathesis against the dqt-api just built (its failure fails the run).
contract_start=$(now)
DQT_API_BIN="$(swift build --show-bin-path "${SWIFT_FLAGS[@]}")/dqt-api" bash scripts/contract-test.sh </dev/null || status=1
echo "test.sh: contract test took $(elapsed "$contract_start") s"
# Formatting: the tree as swift-format (.swift-format) leaves it; `swift-format format -r -i -p Sources Tests
# Benchmarks Package.swift` fixes what this reports.
if ! swift-format lint --strict -r -p Sources Tests Benchmarks Package.swift; then
    echo "test.sh: swift-format found unformatted code (see above)" >&2
    status=1
fi
# swift test's own closing line again, last, where CI reads it.
grep -E '(Test run with|Executed) [0-9]+ test' "$ROOT/.run/swift-test.log" | tail -n 1 || true
exit "$status"
