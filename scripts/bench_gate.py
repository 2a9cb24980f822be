"""Compare the instruction counts of one run of benches/gate.rs with
benches/gate-baseline.json, or rewrite that baseline.

Input: gungraun's JSON output (`--output-format=json`), one summary object a
line. From each, the callgrind total of Ir (instructions executed) is taken.

Two kinds of benchmark are counted: the implementation's operations (the
gated ones: `push_pop`, `push_pop_deep`, `current`, `with_context`,
`build_push_pop`), and the
references the ratios are taken against: the model on the same operations
(`model_*`) and the naive thread-local baselines (`vec_push_pop`,
`cell_current`). The gate fails when an implementation count grows by more
than 5 % over the baseline file; how each compares with its target in
instructions per operation is printed, and a reference count that moved is
only reported (the model is the spec, not something this gate guards).

Used by scripts/bench-gate.sh; see there for how to run it.
"""

import argparse
import json
import sys

# More than this much growth fails the gate. Instruction counts are exact for
# one build, so any growth is real; the margin leaves room for what a
# toolchain or dependency update shifts without anyone touching the code.
LIMIT = 1.05

# The implementation's benchmarks, with what each is compared with: the
# model on the same operation, and the naive baseline that bounds it (for
# push_pop on a deep stack: the same on the root alone, which it must equal).
GATED = {
    "push_pop": ("model_push_pop", "vec_push_pop"),
    "push_pop_deep": (None, "push_pop"),
    "current": ("model_current", "cell_current"),
    "with_context": ("model_with_context", "vec_push_pop"),
    "build_push_pop": ("model_build_push_pop", "vec_push_pop"),
}

# The instructions per operation each implementation benchmark aims at;
# printed beside the counts (a count over its target is reported, not failed).
TARGETS = {"push_pop": 60, "push_pop_deep": 60, "current": 6, "with_context": 200,
           "build_push_pop": 200}


def read_run(path):
    counts = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            summary = json.loads(line)
            name = summary["function_name"]
            if summary.get("id") not in (None, "ops"):
                name += "." + summary["id"]
            callgrind = [p for p in summary["profiles"] if p.get("tool") == "Callgrind"]
            if len(callgrind) != 1:
                sys.exit(f"bench_gate: {name}: expected one callgrind profile, found {len(callgrind)}")
            counts[name] = callgrind[0]["data"]["total"]["metrics"]["Ir"]["values"]["new"]
    if not counts:
        sys.exit(f"bench_gate: no benchmark summary in {path}")
    return counts


def ratios(counts):
    """impl/model and impl/baseline per gated benchmark, where both ran."""
    out = {}
    for name, (model, base) in GATED.items():
        n = counts.get(name)
        if n is None:
            continue
        r = {}
        if model and counts.get(model):
            r["impl/model"] = round(n / counts[model], 3)
        if counts.get(base):
            r[f"impl/{base}"] = round(n / counts[base], 3)
        out[name] = r
    return out


def write_baseline(path, counts, ops):
    baseline = {
        "about": (
            "Instructions (callgrind Ir) of one call of each benchmark of "
            "benches/gate.rs, which does `ops_per_call` operations, and the "
            "ratios of the implementation's counts to the model's and to the "
            "naive baselines' on the same operations (machine-independent). "
            "scripts/bench-gate.sh fails when an implementation count grows "
            "by more than 5 %; targets_ir_per_op are printed beside; "
            "`scripts/bench-gate.sh --update` rewrites this file."
        ),
        "ops_per_call": ops,
        "instructions": dict(sorted(counts.items())),
        "ir_per_op": {k: round(v / ops, 1) for k, v in sorted(counts.items())},
        "targets_ir_per_op": TARGETS,
        "ratios": ratios(counts),
    }
    with open(path, "w") as f:
        json.dump(baseline, f, indent=2)
        f.write("\n")


def compare(baseline, counts):
    old = baseline["instructions"]
    ops = baseline.get("ops_per_call", 1)
    failed = []
    rows = []
    for name in sorted(set(old) | set(counts)):
        gated = name in GATED
        o, n = old.get(name), counts.get(name)
        if o is None or n is None:
            verdict = "not in the baseline" if o is None else "did not run"
            if gated:
                failed.append(name)
            rows.append((name, o, n, "—", "—", verdict))
            continue
        ratio = n / o if o else float("inf")
        per_op = n / ops
        verdict = "ok" if gated else "reference"
        if ratio > LIMIT:
            if gated:
                verdict = "REGRESSION"
                failed.append(name)
            else:
                verdict = "reference moved: consider --update"
        elif ratio < 1 / LIMIT:
            verdict += "; faster: consider --update"
        # Per operation, to the tenth: the loop and call around the OPS
        # operations add a few dozen instructions to the total. A target
        # not met is reported, not failed: the gate guards against
        # regressions; the README says how far each target is and why.
        if gated and round(per_op, 1) > TARGETS[name]:
            verdict += f"; over the {TARGETS[name]} Ir/op target"
        rows.append((name, o, n, f"{ratio:.3f}", f"{per_op:.1f}", verdict))

    print("| benchmark | old Ir | new Ir | new/old | new Ir per op | verdict |")
    print("|---|---:|---:|---:|---:|---|")
    for name, o, n, ratio, per_op, verdict in rows:
        print(f"| {name} | {o if o is not None else '—'} | {n if n is not None else '—'} | {ratio} | {per_op} | {verdict} |")
    print()
    print("| impl benchmark | Ir/op | target | impl/model | impl/baseline |")
    print("|---|---:|---:|---:|---:|")
    for name, r in ratios(counts).items():
        base = [f"{v:.3f} ({k.split('/')[1]})" for k, v in r.items() if k != "impl/model"]
        model = f"{r['impl/model']:.3f}" if "impl/model" in r else "—"
        print(f"| {name} | {counts[name] / ops:.1f} | {TARGETS[name]} | {model} | "
              f"{', '.join(base) or '—'} |")
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="gungraun's JSON output of this run")
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--update", action="store_true", help="rewrite the baseline from this run")
    ap.add_argument("--ops", type=int, default=1000, help="operations per benchmark call (with --update)")
    args = ap.parse_args()

    counts = read_run(args.run)
    if args.update:
        write_baseline(args.baseline, counts, args.ops)
        for name, n in sorted(counts.items()):
            print(f"{name}: {n} Ir ({n / args.ops:.1f} per op)")
        for name, r in ratios(counts).items():
            print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in r.items()))
        print(f"bench_gate: wrote {args.baseline}")
        return 0
    with open(args.baseline) as f:
        baseline = json.load(f)
    failed = compare(baseline, counts)
    if failed:
        print(
            f"bench-gate: FAILED: {', '.join(failed)} (limit: +{(LIMIT - 1) * 100:.0f} % "
            "over the baseline). If a growth is meant, rewrite the baseline with "
            "scripts/bench-gate.sh --update."
        )
        return 1
    print(f"bench-gate: ok, no implementation count grew by more than {(LIMIT - 1) * 100:.0f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
