#!/usr/bin/env bash
# Prove that the conformance run catches a wrong flytekit: copy the pinned
# flytekit into a scratch directory, break one rule (with_context pops once
# instead of down to its mark, [WITH-2]), and expect `flytectx conform` to
# report a divergence (exit 1) shrunk to a handful of operations.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/python-env.sh)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
site=$("$python" -c 'import flytekit, os; print(os.path.dirname(os.path.dirname(flytekit.__file__)))')
cp -r "$site/flytekit" "$scratch/"
target="$scratch/flytekit/core/context_manager.py"
grep -q 'while FlyteContextManager.size() >= l:' "$target"
sed -i 's/while FlyteContextManager.size() >= l:/if FlyteContextManager.size() >= l:/' "$target"
set +e
PYTHONPATH="$scratch" cargo run --release --quiet -- conform --no-corpus --json \
    --port "$python conformance/adapters/flytekit.py" --profile compat --traces 5000 --seed 11 > "$scratch/report.json"
status=$?
set -e
if [ "$status" -ne 1 ]; then
    echo "mutant flytekit: expected exit 1 (divergence), got $status" >&2
    exit 1
fi
"$python" - "$scratch/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["counterexample"]
n = len(c["trace"])
print(f"mutant flytekit caught: divergence at {c['divergence']['op']}, trace shrunk from "
      f"{c['origin']['original_len']} to {n} operations; clauses {c['divergence']['clauses'][:4]}")
assert n <= 8, f"shrunk only to {n} operations"
PY
