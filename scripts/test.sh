#!/usr/bin/env bash
# The project's test command: sets up what it needs, then runs every check.
# CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s\n' "$*"; }

step "python: the pinned flytekit environment"
python=$(scripts/python-env.sh)
"$python" -c 'import flytekit; print("flytekit", flytekit.__version__)'

step "cargo test: model, implementation, runner, corpus, snapshots, property tests"
cargo test --workspace --release

step "lint wall of the implementation crate: clippy and rustdoc, warnings denied"
cargo clippy -p flytectx --all-targets -- -D warnings
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps -p flytectx

step "spec coverage: every clause has a model rule and a test or golden trace"
cargo run --release --quiet -- coverage --check | tail -n 1

step "conformance: real flytekit 1.16.10 against the model (compat profile)"
cargo run --release --quiet -- conform \
    --port "$python conformance/adapters/flytekit.py" \
    --profile compat --traces 3000 --seed 20261124

step "conformance: a deliberately broken flytekit must be caught"
scripts/mutant-flytekit.sh

step "conformance: the implementation (impl/) against the model (isolated profile)"
cargo run --release --quiet -- conform --profile isolated --traces 5000 --seed 20261124

step "fuzz smoke: both cargo-fuzz targets, briefly"
scripts/fuzz-smoke.sh

step "performance gate: instruction counts against benches/gate-baseline.json"
scripts/bench-gate.sh

echo
echo "all checks passed"
