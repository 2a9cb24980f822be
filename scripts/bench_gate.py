"""Compare the instruction counts of one run of benches/gate.rs with
benches/gate-baseline.json, or rewrite that baseline.

Input: gungraun's JSON output (`--output-format=json`), one summary object a
line. From each, the callgrind total of Ir (instructions executed) is taken.

Used by scripts/bench-gate.sh; see there for how to run it.
"""

import argparse
import json
import sys

# More than this much growth fails the gate. Instruction counts are exact for
# one build, so any growth is real; the margin leaves room for what a
# toolchain or dependency update shifts without anyone touching the code.
LIMIT = 1.05


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


def write_baseline(path, counts, ops):
    baseline = {
        "about": (
            "Instructions (callgrind Ir) of one call of each benchmark of "
            "benches/gate.rs, which does `ops_per_call` operations. "
            "scripts/bench-gate.sh fails when one grows by more than 5 %; "
            "`scripts/bench-gate.sh --update` rewrites this file."
        ),
        "ops_per_call": ops,
        "instructions": dict(sorted(counts.items())),
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
        o, n = old.get(name), counts.get(name)
        if o is None or n is None:
            verdict = "not in the baseline" if o is None else "did not run"
            failed.append(name)
            rows.append((name, o, n, "—", "—", verdict))
            continue
        ratio = n / o if o else float("inf")
        verdict = "ok"
        if ratio > LIMIT:
            verdict = "REGRESSION"
            failed.append(name)
        elif ratio < 1 / LIMIT:
            verdict = "faster: consider --update"
        rows.append((name, o, n, f"{ratio:.3f}", f"{n / ops:.1f}", verdict))

    print(f"| benchmark | old Ir | new Ir | new/old | new Ir per op | verdict |")
    print("|---|---:|---:|---:|---:|---|")
    for name, o, n, ratio, per_op, verdict in rows:
        print(f"| {name} | {o if o is not None else '—'} | {n if n is not None else '—'} | {ratio} | {per_op} | {verdict} |")
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
        print(f"bench_gate: wrote {args.baseline}")
        return 0
    with open(args.baseline) as f:
        baseline = json.load(f)
    failed = compare(baseline, counts)
    if failed:
        print(
            f"bench-gate: FAILED: {', '.join(failed)} (limit: +{(LIMIT - 1) * 100:.0f} %). "
            "If the change is meant, rewrite the baseline with scripts/bench-gate.sh --update."
        )
        return 1
    print(f"bench-gate: ok, no count grew by more than {(LIMIT - 1) * 100:.0f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
