#!/usr/bin/env bash
# Run every probe against the pinned flytekit (the .venv that
# scripts/python-env.sh makes) and fail if any stated fact does not hold.
# Usage: conformance/probes/run-all.sh [-v]   (-v: show every probe's output)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-$("$here/../../scripts/python-env.sh")}" || exit 2
verbose=0
[ "${1:-}" = "-v" ] && verbose=1
failed=()
count=0
for probe in "$here"/[!_]*.py; do
    name="$(basename "$probe")"
    count=$((count + 1))
    if output="$("$python" "$probe" 2>&1 </dev/null)"; then
        echo "pass  $name"
        [ "$verbose" = 1 ] && printf '%s\n' "$output"
    else
        echo "FAIL  $name"
        printf '%s\n' "$output" | sed 's/^/      /'
        failed+=("$name")
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "${#failed[@]} of $count probes failed: ${failed[*]}"
    exit 1
fi
echo "all $count probes pass"
