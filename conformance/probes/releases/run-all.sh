#!/usr/bin/env bash
# Run every release probe with the python of every cached release virtualenv
# (made by scripts/flytekit-matrix.sh), or of the releases named:
#   conformance/probes/releases/run-all.sh [RELEASE...]
# Exits non-zero when any probe's fact does not hold on any release. Then, for
# information, replays each minimal trace of traces/ (expectations of the
# reference release, 1.16.10) with flytectx conform and says whether the
# release passes it or diverges from it.
set -uo pipefail
cd "$(dirname "$0")"
venvs=../../../.flytekit-venvs
releases=("$@")
if [ ${#releases[@]} -eq 0 ]; then
    for d in "$venvs"/*/; do releases+=("$(basename "$d")"); done
fi
failed=0
for r in "${releases[@]}"; do
    py="$venvs/$r/bin/python"
    if [ ! -x "$py" ]; then echo "no virtualenv for $r (run scripts/flytekit-matrix.sh --releases $r)"; failed=1; continue; fi
    for probe in *.py; do
        [ "$probe" = probe.py ] && continue
        if ! out=$(timeout 120 "$py" -W ignore "$probe" 2>&1); then
            echo "$out" | grep -v '^ok' | tail -3
            echo "FAILED: $probe on $r"
            failed=1
        fi
    done
    echo "$r: probes done"
done
runner=../../../target/release/flytectx
if [ -x "$runner" ]; then
    for r in "${releases[@]}"; do
        py="$venvs/$r/bin/python"
        [ -x "$py" ] || continue
        line="$r:"
        for t in traces/*/; do
            timeout 120 "$runner" conform --port "$py -W ignore ../../adapters/flytekit.py" \
                --profile compat --traces 0 --corpus "$t" >/dev/null 2>&1
            case $? in 0) verdict=passes ;; 1) verdict=diverges ;; *) verdict=error ;; esac
            line="$line $(basename "$t")=$verdict"
        done
        echo "$line"
    done
else
    echo "(no target/release/flytectx: build it to replay traces/)"
fi
exit $failed
