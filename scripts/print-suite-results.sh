#!/usr/bin/env bash
# Prints the crash, fault, hostile-file and security suites' results (out/suite-results.tsv, appended by the tests
# through DQTTesting.SuiteTable) as one table:
#   suite | scenario | runs | records expected | applied | lost | duplicated | refused with reason | outcome
# Each scenario appears once (its latest row). Exits 1 when any row lost or duplicated a record or failed.
# Usage: scripts/print-suite-results.sh [--since EPOCH_SECONDS] [--file PATH]
#   --since: only rows written at or after this time (scripts/test.sh passes the start of its swift test).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
file="${DQT_SUITE_RESULTS:-$ROOT/out/suite-results.tsv}"
since=0
while (($# > 0)); do
    case "$1" in
        --since) since="$2"; shift 2 ;;
        --file) file="$2"; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "print-suite-results.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [[ ! -s "$file" ]]; then
    echo "suite results: none recorded ($file)"
    exit 0
fi

awk -F '\t' -v since="$since" '
    $1 == "time" || NF < 11 { next }
    ($1 + 0) < (since + 0) { next }
    {
        key = $2 SUBSEP $3
        if (!(key in seen)) { order[++n] = key; seen[key] = 1 }
        row[key] = $0
    }
    END {
        if (n == 0) { print "suite results: none recorded since " since; exit 0 }
        h[1] = "suite"; h[2] = "scenario"; h[3] = "runs"; h[4] = "records expected"; h[5] = "applied"
        h[6] = "lost"; h[7] = "duplicated"; h[8] = "refused with reason"; h[9] = "outcome"
        for (c = 1; c <= 9; c++) w[c] = length(h[c])
        for (i = 1; i <= n; i++) {
            split(row[order[i]], f, "\t")
            cell[i, 1] = f[2]; cell[i, 2] = f[3]; cell[i, 3] = f[4]; cell[i, 4] = f[5]; cell[i, 5] = f[6]
            cell[i, 6] = f[7]; cell[i, 7] = f[8]
            cell[i, 8] = (f[10] == "" ? f[9] : f[9] " (" f[10] ")"); cell[i, 9] = f[11]
            # Long text is cut for the screen (the TSV keeps it whole).
            if (length(cell[i, 2]) > 90) cell[i, 2] = substr(cell[i, 2], 1, 87) "..."
            if (length(cell[i, 8]) > 140) cell[i, 8] = substr(cell[i, 8], 1, 137) "..."
            for (c = 1; c <= 9; c++) if (length(cell[i, c]) > w[c]) w[c] = length(cell[i, c])
            if (f[7] + 0 > 0 || f[8] + 0 > 0 || f[11] != "ok") bad++
            lost += f[7]; dup += f[8]; runs += f[4]
        }
        line = ""
        for (c = 1; c <= 9; c++) line = line (c > 1 ? " | " : "") sprintf((c >= 3 && c <= 7) ? "%" w[c] "s" : "%-" w[c] "s", h[c])
        print line
        sep = ""
        for (c = 1; c <= 9; c++) { s = ""; for (k = 0; k < w[c]; k++) s = s "-"; sep = sep (c > 1 ? "-|-" : "") s }
        print sep
        for (i = 1; i <= n; i++) {
            line = ""
            for (c = 1; c <= 9; c++) line = line (c > 1 ? " | " : "") sprintf((c >= 3 && c <= 7) ? "%" w[c] "s" : "%-" w[c] "s", cell[i, c])
            print line
        }
        printf "%d scenarios, %d runs, %d lost, %d duplicated, %d not ok\n", n, runs, lost, dup, bad
        exit (bad > 0 ? 1 : 0)
    }
' "$file"
