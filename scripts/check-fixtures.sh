#!/usr/bin/env bash
# Runs `dqt-bridge check` over every fixture of every feed (fixtures/<feed>/{good,malformed}/*) and writes the
# mapping reports to out/reports/<feed>/<fixture>.{json,html}, then prints where they are and one line per file.
# A quick look at every mapping without any service running. Exit 0 when every good fixture is fully
# accepted and every malformed one is refused, rejects rows or warns; 1 otherwise.
#
#   scripts/check-fixtures.sh [--today yyyy-MM-dd] [--bridge PATH]
# Defaults: --today 2026-11-21 (the day the fixtures and their golden files are written for), the debug build in
# .build/debug (built when missing).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TODAY=2026-11-21
BRIDGE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --today) TODAY=$2; shift 2 ;;
        --bridge) BRIDGE=$2; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "check-fixtures: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$BRIDGE" ]; then
    BRIDGE="$ROOT/.build/debug/dqt-bridge"
    if [ ! -x "$BRIDGE" ]; then
        echo "building dqt-bridge..." >&2
        swift build --product dqt-bridge >&2
    fi
fi
[ -x "$BRIDGE" ] || { echo "check-fixtures: no dqt-bridge at $BRIDGE" >&2; exit 2; }

OUT="$ROOT/out/reports"
mkdir -p "$OUT"
total=0; unexpected=0
printf '%-20s %-9s %-48s %4s %5s %5s %5s %5s  %s\n' FEED KIND FILE EXIT READ OK REJ WARN VERDICT
for dir in fixtures/*/; do
    feed=$(basename "$dir")
    [ -d "$dir/good" ] || [ -d "$dir/malformed" ] || continue
    mkdir -p "$OUT/$feed"
    for kind in good malformed; do
        [ -d "$dir/$kind" ] || continue
        for file in "$dir/$kind"/*; do
            [ -f "$file" ] || continue
            name=$(basename "$file")
            set +e
            "$BRIDGE" check "$file" --today "$TODAY" --mappings "$ROOT/mappings" \
                --report "$OUT/$feed/$name.json" --report "$OUT/$feed/$name.html" >/dev/null 2>"$OUT/$feed/$name.stderr"
            status=$?
            set -e
            total=$((total + 1))
            summary=$(python3 - "$OUT/$feed/$name.json" "$kind" "$status" <<'PY'
import json, sys
path, kind, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    r = json.load(open(path))
except Exception:
    print("- - - - no-report unexpected"); sys.exit()
rows = r["rows"]
refusal = r.get("refusal")
if refusal:
    verdict = "refused:" + refusal["code"]
elif rows["rejected"]:
    verdict = "rejected:" + ",".join(sorted({e["code"] for e in r["errors"]}))
elif r.get("warningCount"):
    verdict = "warned:" + ",".join(sorted({w["code"] for w in r["warnings"]}))
else:
    verdict = "accepted"
ok = (status == 0 and verdict == "accepted") if kind == "good" else (status != 0 or verdict.startswith("warned"))
print(rows["read"], rows["accepted"], rows["rejected"], rows["warnings"], verdict, "ok" if ok else "unexpected")
PY
)
            read -r n_read n_ok n_rej n_warn verdict expected <<<"$summary"
            [ "$expected" = ok ] || unexpected=$((unexpected + 1))
            [ -s "$OUT/$feed/$name.stderr" ] || rm -f "$OUT/$feed/$name.stderr"
            printf '%-20s %-9s %-48s %4s %5s %5s %5s %5s  %s%s\n' "$feed" "$kind" "$name" "$status" "$n_read" "$n_ok" "$n_rej" "$n_warn" "$verdict" \
                "$([ "$expected" = ok ] || echo '  <-- UNEXPECTED')"
        done
    done
done
echo
echo "$total fixtures checked (judged as of $TODAY); reports in $OUT/<feed>/<fixture>.{json,html}"
echo "open one in a browser, e.g. file://$OUT/ewc-induction/IND_20261120_0800.csv.html"
if [ "$unexpected" -gt 0 ]; then
    echo "$unexpected fixture(s) gave an unexpected result" >&2
    exit 1
fi
