#!/usr/bin/env bash
# The flytekit release matrix: every release with a requirements file under
# conformance/flytekit-releases/ (plus 1.16.10 from conformance/requirements.txt)
# is installed into a cached virtualenv of its own and checked with
# `flytectx conform` (corpus + random traces, compat profile). Writes
# conformance/flytekit-matrix.md and .json; a partial run (--releases, or a
# trace count or seed other than the defaults) writes them under
# target/flytekit-matrix/ instead, so the committed matrix is always a full run.
# Exits 0 when every release that ran passed, 1 otherwise; with --require-all,
# also 1 when a release was skipped (no interpreter, or it did not install).
#
#   scripts/flytekit-matrix.sh [--releases 1.10.7,1.16.10] [--traces N] [--seed S]
#                              [--jobs-timeout SECONDS] [--require-all]
#
# Virtualenvs live in .flytekit-venvs/<release> (gitignored) and are made
# again when their requirements file changes. A release whose Python minor
# version has no interpreter here (python3.X on the PATH or a pyenv
# installation) is skipped, and the report says so.
set -euo pipefail
cd "$(dirname "$0")/.."

DEFAULT_TRACES=3000
DEFAULT_SEED=20261124
traces=$DEFAULT_TRACES
seed=$DEFAULT_SEED
releases=""
per_release_timeout=3600
require_all=0
while [ $# -gt 0 ]; do
    case "$1" in
        --releases) releases=$2; shift 2 ;;
        --traces) traces=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --jobs-timeout) per_release_timeout=$2; shift 2 ;;
        --require-all) require_all=1; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "flytekit-matrix: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

helper() { python3 scripts/flytekit_matrix.py "$@"; }

results=target/flytekit-matrix/results
out_dir=conformance
if [ -n "$releases" ] || [ "$traces" != "$DEFAULT_TRACES" ] || [ "$seed" != "$DEFAULT_SEED" ]; then
    out_dir=target/flytekit-matrix
fi
plan=$(helper plan ${releases:+--releases "$releases"} --venvs .flytekit-venvs)

echo "flytekit-matrix: building the runner" >&2
cargo build --release --quiet
runner=target/release/flytectx

rm -rf "$results"
mkdir -p "$results"
while IFS=$'\t' read -r version req python minor venv; do
    [ -n "$version" ] || continue
    note="$results/$version.note"
    if [ "$python" = - ]; then
        echo "flytekit-matrix: SKIPPED $version: no Python $minor interpreter here (python$minor on the PATH, or \$PYENV_ROOT/versions/$minor.*)" >&2
        echo "no Python $minor interpreter here (python$minor on the PATH or under \$PYENV_ROOT/versions)" > "$note"
        continue
    fi
    want="$(sha256sum "$req" | cut -d' ' -f1) $python"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$want" ]; then
        echo "flytekit-matrix: installing flytekit $version for Python $minor into $venv" >&2
        rm -rf "$venv"
        if ! { "$python" -m venv "$venv" &&
               "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$req"; } >"$results/$version.install.log" 2>&1; then
            echo "flytekit-matrix: SKIPPED $version: installing $req failed (see $results/$version.install.log)" >&2
            echo "installing $req with Python $minor failed" > "$note"
            rm -rf "$venv"
            continue
        fi
        if ! "$venv/bin/python" -c "$(helper import-check)" >>"$results/$version.install.log" 2>&1; then
            echo "flytekit-matrix: SKIPPED $version: installed from $req but does not import (see $results/$version.install.log)" >&2
            echo "installed from $req with Python $minor but does not import" > "$note"
            rm -rf "$venv"
            continue
        fi
        echo "$want" > "$venv/.requirements"
    fi
    echo "flytekit-matrix: flytekit $version (Python $minor): conform, $traces traces, seed $seed" >&2
    set +e
    timeout "$per_release_timeout" "$runner" conform \
        --port "$venv/bin/python conformance/adapters/flytekit.py" \
        --profile compat --traces "$traces" --seed "$seed" --json \
        >"$results/$version.json" 2>"$results/$version.stderr"
    echo $? > "$results/$version.exit"
    set -e
    echo "flytekit-matrix: flytekit $version: exit $(cat "$results/$version.exit")" >&2
done <<< "$plan"

helper report --results "$results" --out "$out_dir" --traces "$traces" --seed "$seed"

# The matrix is written whatever happened; the exit status says whether every
# release that ran got a clean verdict (skipped releases are reported above).
ran=0; clean=0
for f in "$results"/*.exit; do
    [ -e "$f" ] || continue
    ran=$((ran + 1))
    [ "$(cat "$f")" = 0 ] && clean=$((clean + 1))
done
skipped=0
for f in "$results"/*.note; do
    [ -e "$f" ] && skipped=$((skipped + 1))
done
echo "flytekit-matrix: $clean of $ran releases passed, $skipped skipped" >&2
if [ "$require_all" = 1 ] && [ "$skipped" -gt 0 ]; then
    echo "flytekit-matrix: --require-all: a skipped release counts as a failure" >&2
    exit 1
fi
[ "$clean" -eq "$ran" ]
