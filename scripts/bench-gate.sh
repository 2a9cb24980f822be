#!/usr/bin/env bash
# The instruction-count gate: runs benches/gate.rs under callgrind (gungraun)
# and fails (exit 1) if an operation's instruction count grew by more than
# 5 % over benches/gate-baseline.json, printing the counts, each against its
# target Ir per operation, and the impl/model and impl/baseline ratios.
#
#   scripts/bench-gate.sh            # check
#   scripts/bench-gate.sh --update   # rewrite the baseline on purpose
#
# Instruction counts do not depend on the machine's load, so unlike
# wall-clock figures they can gate. They do depend on the toolchain
# (pinned by rust-toolchain.toml): a toolchain update may need --update.
#
# Needs valgrind, and gungraun-runner of exactly the gungraun library's
# version (the runner refuses another); it is installed if it differs.
# Exit status: 0 ok, 1 regression (or a benchmark missing on either side),
# 2 usage error or a failed run.
set -euo pipefail
cd "$(dirname "$0")/.."

update=
for arg in "$@"; do
    case "$arg" in
        --update) update=--update ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-gate: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

if ! command -v valgrind >/dev/null; then
    echo "bench-gate: valgrind is missing (apt-get install valgrind)" >&2
    exit 2
fi

# The version the library resolved to, from the lock file, so that the two
# stay in step when the workspace's gungraun changes.
want=$(awk '$0 == "name = \"gungraun\"" { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ -z "$want" ]; then
    echo "bench-gate: gungraun is not in Cargo.lock" >&2
    exit 2
fi
have=$(gungraun-runner --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
    echo "bench-gate: installing gungraun-runner $want (found: ${have:-none})" >&2
    cargo install gungraun-runner --version "$want" --locked >&2
fi

ops=$(sed -n 's/^const OPS: u32 = \([0-9_]*\);.*/\1/p' benches/gate.rs | tr -d _)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# One JSON summary per benchmark on stdout; gungraun's own progress on stderr.
if ! cargo bench --bench gate -- --output-format=json > "$scratch/run.jsonl"; then
    echo "bench-gate: the gate benchmarks failed to run" >&2
    exit 2
fi

python3 scripts/bench_gate.py --run "$scratch/run.jsonl" --baseline benches/gate-baseline.json \
    --ops "${ops:-1000}" $update
