#!/usr/bin/env bash
# One markdown table of the stack's hot operations: the impl, the model, the
# naive thread-local stack, the Cell floor, opentelemetry and real flytekit,
# medians in ns per operation, plus ratios; and the heap bytes of a live
# context and of a stack entry, impl and model. Everything in it comes from
# this one run.
#
#   scripts/bench-table.sh                 # print the table
#   scripts/bench-table.sh --write-readme  # and put it in README.md's
#                                          # "Performance" section
#
# A few minutes in all. Criterion's times per benchmark can be changed with
# BENCH_WARMUP_SECS (default 1) and BENCH_MEASURE_SECS (default 3); longer
# gives steadier figures. flytekit's with BENCH_FLYTEKIT_ARGS (for example
# "--reps 11 --target-ms 500"). Progress goes to stderr, the table to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

readme=
for arg in "$@"; do
    case "$arg" in
        --write-readme) readme=README.md ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-table: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

warmup=${BENCH_WARMUP_SECS:-1}
measure=${BENCH_MEASURE_SECS:-3}
target=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Results older than this are from another run: the table must not mix runs.
since=$(date +%s)

echo "bench-table: criterion (warm-up ${warmup}s, measurement ${measure}s per benchmark)" >&2
cargo bench --bench stack -- --warm-up-time "$warmup" --measurement-time "$measure" >&2

echo "bench-table: memory (impl/tests/allocations.rs)" >&2
cargo test --release -p flytectx --test allocations -- --nocapture --exact \
    a_live_context_and_a_stack_entry_take_at_most_half_the_models_memory > "$scratch/memory.txt"

echo "bench-table: flytekit" >&2
python=$(scripts/python-env.sh)
# shellcheck disable=SC2086 # BENCH_FLYTEKIT_ARGS is a list of arguments
"$python" scripts/flytekit_bench.py ${BENCH_FLYTEKIT_ARGS:-} > "$scratch/flytekit.json"

python3 scripts/bench_table.py \
    --criterion "$target/criterion" \
    --flytekit "$scratch/flytekit.json" \
    --since "$since" \
    --memory "$scratch/memory.txt" \
    ${readme:+--readme "$readme"}
