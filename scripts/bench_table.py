"""Turn one run of benches/stack.rs and scripts/flytekit_bench.py into one
markdown table, and optionally put it in README.md.

Used by scripts/bench-table.sh; see there for how to run it.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

# Rows: (label, criterion group, flytekit_bench.py operation).
ROWS = [
    ("push_pop", "push_pop", "push_pop"),
    ("current", "current", "current"),
    ("with_context", "with_context", "with_context"),
    ("build_push_pop", "build_push_pop", "build_push_pop"),
    ("depth/1", "depth", "depth/1"),
    ("depth/1000", "depth", "depth/1000"),
    ("depth/1000000", "depth", "depth/1000000"),
]

# Columns read from criterion: (header, ids that may hold it). The naive
# stack is `vec_baseline` when it pushes and `tls_baseline` when it reads.
COLUMNS = [
    ("impl", ("impl",)),
    ("model", ("model",)),
    ("vec/tls baseline", ("vec_baseline", "tls_baseline")),
    ("cell_limit", ("cell_limit",)),
    ("otel", ("otel",)),
]

START = "<!-- bench-table:start -->"
END = "<!-- bench-table:end -->"


def criterion_median(root, group, bench_id, since):
    """The median point estimate (ns) of one criterion benchmark, or None if
    it did not run in this run (missing, or older than `since`)."""
    path = os.path.join(root, group, bench_id, "new", "estimates.json")
    try:
        if os.path.getmtime(path) < since:
            return None
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def collect(criterion_dir, flytekit, since):
    rows = []
    for label, group, fk_op in ROWS:
        cells = {}
        for header, ids in COLUMNS:
            # depth is measured for the impl only; its id is the depth.
            if group == "depth":
                ids = (label.split("/")[1],) if header == "impl" else ()
            cells[header] = next(
                (v for v in (criterion_median(criterion_dir, group, i, since) for i in ids) if v is not None),
                None,
            )
        op = (flytekit or {}).get("ops", {}).get(fk_op)
        cells["flytekit"] = op["median_ns"] if op else None
        rows.append((label, cells))
    return rows


def fmt_ns(v):
    if v is None:
        return "—"
    if v < 10:
        return f"{v:.2f}"
    if v < 1000:
        return f"{v:.1f}"
    return f"{v:,.0f}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return f"{r:.2f}×" if r < 100 else f"{r:,.0f}×"


def table(rows):
    headers = [h for h, _ in COLUMNS] + ["flytekit", "impl/model", "impl/baseline", "otel/impl", "flytekit/impl"]
    out = ["| operation | " + " | ".join(headers) + " |", "|---" + "|---:" * len(headers) + "|"]
    for label, c in rows:
        values = [fmt_ns(c[h]) for h, _ in COLUMNS] + [fmt_ns(c["flytekit"])]
        baseline = c["vec/tls baseline"]
        if label.startswith("depth/"):
            # A deep stack's baseline is the same operation on a shallow one:
            # the ratio says whether depth costs anything.
            baseline = next((cc["impl"] for ll, cc in rows if ll == "push_pop"), None)
        values += [
            fmt_ratio(c["impl"], c["model"]),
            fmt_ratio(c["impl"], baseline),
            fmt_ratio(c["otel"], c["impl"]),
            fmt_ratio(c["flytekit"], c["impl"]),
        ]
        out.append(f"| {label} | " + " | ".join(values) + " |")
    return "\n".join(out)


def read_memory(path):
    """The figures impl/tests/allocations.rs printed: {what: (impl, model)}.
    Lines: `bytes per live context: impl A (with one field changed: B), model C`
    and `bytes per stack entry: impl D, model E`."""
    if not path:
        return {}
    with open(path) as f:
        text = f.read()
    out = {}
    m = re.search(r"bytes per live context: impl ([\d.]+) \(with one field changed: ([\d.]+)\), model ([\d.]+)", text)
    if m:
        out["a live context, derived unchanged (a scope's)"] = (float(m[1]), float(m[3]))
        out["a live context with one field changed"] = (float(m[2]), float(m[3]))
    m = re.search(r"bytes per stack entry: impl ([\d.]+), model ([\d.]+)", text)
    if m:
        out["a stack entry"] = (float(m[1]), float(m[2]))
    return out


def memory_table(memory):
    out = [
        "| memory: heap bytes per | impl | model | impl/model |",
        "|---|---:|---:|---:|",
    ]
    for what, (i, m) in memory.items():
        out.append(f"| {what} | {i:.1f} | {m:.1f} | {fmt_ratio(i, m)} |")
    return "\n".join(out)


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rustc = "rustc (unknown version)"
    return f"{os.cpu_count()} CPUs ({model}), {rustc}"


def section(rows, flytekit, memory):
    fk = ""
    if flytekit:
        fk = f", flytekit {flytekit['flytekit']} on Python {flytekit['python']}"
    return "\n".join(
        [
            START,
            "",
            f"Medians in nanoseconds per operation, from one run of `scripts/bench-table.sh` "
            f"on {time.strftime('%Y-%m-%d')}: {machine()}{fk}. Figures from one run on a "
            "shared machine are noisy; ratios within a row are more telling than any one "
            "figure. `scripts/bench-gate.sh` guards the impl's instruction counts, which do "
            "not vary from run to run.",
            "",
            "Columns: `impl` is the `flytectx` thread-local facade; `model` the executable "
            "spec; `vec/tls baseline` a `thread_local!` `RefCell<Vec<u32>>` (push+pop, or a "
            "read of the top); `cell_limit` a `thread_local!` `Cell<u32>`, the floor; `otel` "
            "opentelemetry's `Context` (attach + guard drop); `flytekit` flytekit itself "
            "(`scripts/flytekit_bench.py`). For the `depth/N` rows (push+pop with N contexts "
            "on the stack), impl/baseline compares with push_pop on the root alone.",
            "",
            table(rows),
            "",
        ]
        + (
            [
                "Memory, from the same run (`impl/tests/allocations.rs`, a counting "
                "allocator; 100 000 of each kept alive, vectors' spare capacity included "
                "alike for both):",
                "",
                memory_table(memory),
                "",
            ]
            if memory
            else []
        )
        + [
            END,
        ]
    )


def write_readme(path, text):
    with open(path) as f:
        readme = f.read()
    if START in readme and END in readme:
        head, rest = readme.split(START, 1)
        _, tail = rest.split(END, 1)
        readme = head + text + tail
    else:
        readme = readme.rstrip("\n") + "\n\n## Performance\n\n" + text + "\n"
    with open(path, "w") as f:
        f.write(readme)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--criterion", required=True, help="criterion's output directory (target/criterion)")
    ap.add_argument("--flytekit", help="the JSON scripts/flytekit_bench.py printed")
    ap.add_argument("--since", type=float, default=0, help="ignore criterion results older than this Unix time")
    ap.add_argument("--memory", help="the output of impl/tests/allocations.rs's memory test")
    ap.add_argument("--readme", help="also replace the table section of this README")
    args = ap.parse_args()

    flytekit = None
    if args.flytekit:
        with open(args.flytekit) as f:
            flytekit = json.load(f)
    rows = collect(args.criterion, flytekit, args.since)
    if all(c["impl"] is None for _, c in rows):
        sys.exit(f"bench_table: no criterion result of this run under {args.criterion}")
    memory = read_memory(args.memory)
    print(table(rows))
    if memory:
        print()
        print(memory_table(memory))
    if args.readme:
        write_readme(args.readme, section(rows, flytekit, memory))
        print(f"bench_table: wrote the table into {args.readme}", file=sys.stderr)


if __name__ == "__main__":
    main()
