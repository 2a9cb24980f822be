#!/usr/bin/env bash
# The project's test command: sets up what it needs, then runs every check.
# CI runs exactly this (.ci/run); .github/workflows/ci.yml runs the same
# steps in parallel jobs.
#
#   scripts/test.sh            # every step
#   scripts/test.sh STEP...    # these steps only (names below)
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(python cargo-test lint coverage probes flytekit mutant-flytekit oldest-release impl example-port fuzz gate)
if [ $# -eq 0 ]; then set -- "${ALL[@]}"; fi

step() { printf '\n=== %s\n' "$*"; }
python_env() { scripts/python-env.sh; }

run_step() {
    case "$1" in
    python)
        step "python: the pinned flytekit environment"
        "$(python_env)" -c 'import flytekit; print("flytekit", flytekit.__version__)'
        ;;
    cargo-test)
        step "cargo test: model, implementation, runner, corpus, snapshots, property tests"
        python_env >/dev/null
        cargo test --workspace --release
        ;;
    lint)
        step "lint: clippy and rustdoc with warnings denied, and the GitHub workflows (actionlint)"
        cargo clippy --workspace --all-targets --release -- -D warnings
        RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --workspace
        scripts/actionlint.sh
        ;;
    coverage)
        step "spec coverage: every clause has a model rule and a test or golden trace"
        cargo run --release --quiet -- coverage --check | tail -n 1
        ;;
    probes)
        step "probes: the facts spec.md takes from flytekit 1.16.10, checked on it"
        python_env >/dev/null
        conformance/probes/run-all.sh
        ;;
    flytekit)
        step "conformance: real flytekit 1.16.10 against the model (compat profile)"
        cargo run --release --quiet -- conform \
            --port "$(python_env) conformance/adapters/flytekit.py" \
            --profile compat --traces 3000 --seed 20261124
        ;;
    mutant-flytekit)
        step "conformance: a deliberately broken flytekit must be caught"
        scripts/mutant-flytekit.sh
        ;;
    oldest-release)
        step "conformance: the oldest flytekit release of the matrix, 0.19.2 (Python 3.8), against its model"
        # Installs 0.19.2 into .flytekit-venvs/ (cached) with a Python 3.8
        # interpreter found here, and fails when there is none rather than
        # skip the release.
        scripts/flytekit-matrix.sh --releases 0.19.2 --traces 300 --require-all
        ;;
    impl)
        step "the implementation: its tests in a debug build (which checks every heap access), then against the model (isolated profile)"
        cargo test --quiet -p flytectx
        cargo run --release --quiet -- conform --profile isolated --traces 5000 --seed 20261124
        ;;
    example-port)
        step "conformance: the smallest port (stack and with scopes), as a port author runs it"
        cargo run --release --quiet -- conform --port "python3 tests/ports/minimal.py" \
            --profile compat --features stack,with --traces 500 --seed 20261124 \
            --junit target/minimal-port.junit.xml > /dev/null
        echo "pass; JUnit report in target/minimal-port.junit.xml"
        ;;
    fuzz)
        step "fuzz smoke: both cargo-fuzz targets, briefly"
        scripts/fuzz-smoke.sh
        ;;
    gate)
        step "performance gate: instruction counts against benches/gate-baseline.json"
        scripts/bench-gate.sh
        ;;
    *)
        echo "unknown step '$1'; the steps are: ${ALL[*]}" >&2
        exit 2
        ;;
    esac
}

for s in "$@"; do run_step "$s"; done
echo
echo "all checks passed: $*"
