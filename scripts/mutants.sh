#!/usr/bin/env bash
# Mutation testing of impl/ and model/ with cargo-mutants (configuration and
# exclusions, each with its reason: .cargo/mutants.toml). Slow: each mutant is
# built and tested; a full run takes hours on two cores.
#
#   scripts/mutants.sh impl  [cargo-mutants options]   # e.g. --shard 0/4
#   scripts/mutants.sh model [cargo-mutants options]
#
# The tests that judge a mutant: for impl/, its own tests plus the
# differential property test and the snapshots (model vs impl); for model/,
# its own tests, the corpus, the snapshots, the differential tests (the
# impl must then disagree with the broken model), the runner's tests, and, when
# .venv exists, the run against real flytekit (tests/flytekit.rs): the model
# is checked mainly against flytekit, so that run matters for it.
# Results land in mutants.out/; the summary is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=27.1.0
if [ "$(cargo mutants --version 2>/dev/null)" != "cargo-mutants $VERSION" ]; then
    cargo install cargo-mutants --version "$VERSION" --locked
fi
# cargo-mutants' baseline run tests only the mutated package, and so cannot
# take the test selection below: it is skipped, and the timeouts are set here
# instead (the selected tests take well under a minute on an unmutated tree).
common=(--baseline skip --timeout 240 --build-timeout 900)
# Two tests only wait (a 10 s exit grace) or read 100 MB; every mutant would
# pay for them, and they judge the runner rather than the model or the impl.
export FLYTECTX_QUICK=1
what=${1:?usage: scripts/mutants.sh impl|model [cargo-mutants options]}
shift
case "$what" in
    impl)
        cargo mutants --workspace --file "impl/src/*.rs" --test-package flytectx,flytectx-conformance "${common[@]}" "$@" -- \
            --lib --test api --test state_machine --test allocations --test sigint --test teardown --test differential --test snapshots
        ;;
    model)
        scripts/python-env.sh >/dev/null
        cargo mutants --workspace --file "model/src/*.rs" --test-package flytectx-model,flytectx-conformance,flytectx "${common[@]}" "$@" -- \
            --lib --test corpus --test snapshots --test differential --test generate --test protocol \
            --test hostile_inputs --test flytekit --test state_machine
        ;;
    *) echo "scripts/mutants.sh: impl or model, not $what" >&2; exit 2 ;;
esac
