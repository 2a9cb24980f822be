#!/usr/bin/env python3
"""The flytekit release matrix: its requirements files, interpreters and report.

Subcommands (scripts/flytekit-matrix.sh drives the first two and the last):

  plan [--releases A,B] [--venvs DIR]
      One line per release to run, tab-separated: version, requirements file,
      python interpreter ("-" when none was found here), Python minor, venv.
  import-check
      The Python statement that says whether a release imports.
  pin VERSION --python X.Y [--pin SPEC --why TEXT]...
      Install flytekit==VERSION with pip's own resolver plus the extra pins into
      a scratch venv, check that it imports, and write the fully pinned
      requirements file conformance/flytekit-releases/VERSION.txt from it.
  report --results DIR --out DIR --traces N --seed S
      Read the conform reports in the results directory and write
      flytekit-matrix.md and flytekit-matrix.json into the output directory.

Requirements files carry their facts in header comments:
  # python: 3.8                      the Python minor version to use
  # pin: SPEC -- why                 one line per extra pin, with the reason
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASES_DIR = os.path.join(ROOT, "conformance", "flytekit-releases")
CI_REQUIREMENTS = os.path.join(ROOT, "conformance", "requirements.txt")
CI_RELEASE = "1.16.10"
CI_PYTHON = "3.11"
DEFAULT_VENVS = os.path.join(ROOT, ".flytekit-venvs")
# Releases of the range that could not be made to import: "version -- reason" lines.
UNAVAILABLE = os.path.join(RELEASES_DIR, "unavailable.txt")
# Protocol 2's features, in the order the matrix shows them.
FEATURES = [
    "stack", "with", "builders", "conditionals", "execution_states",
    "compilation_states", "threads", "tasks", "signals", "origins",
]

# What "imports" means for a release: the package and the module the adapter drives.
IMPORT_CHECK = (
    "import flytekit, flytekit.core.context_manager as cm; "
    "cm.FlyteContextManager.current_context(); print(flytekit.__version__)"
)


def version_key(v):
    return tuple(int(x) for x in re.findall(r"\d+", v))


# ----- requirements files -----


def read_header(path):
    """The `# python:` minor version and the `# pin:` lines of a requirements file."""
    python, pins = None, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"#\s*python:\s*(3\.\d+)\s*$", line)
            if m:
                python = m.group(1)
            m = re.match(r"#\s*pin:\s*(.+?)\s+--\s+(.+?)\s*$", line)
            if m:
                pins.append({"pin": m.group(1), "why": m.group(2)})
    return python, pins


def releases():
    """(version, requirements file, python minor, pins) for every release of the matrix."""
    out = {}
    for path in glob.glob(os.path.join(RELEASES_DIR, "*.txt")):
        version = os.path.basename(path)[: -len(".txt")]
        if not re.match(r"\d+\.\d+\.\d+$", version):
            continue  # unavailable.txt and the like
        python, pins = read_header(path)
        if python is None:
            sys.exit(f"{os.path.relpath(path, ROOT)}: no '# python: 3.X' header line")
        out[version] = (path, python, pins)
    # The CI environment is the matrix's 1.16.10 unless a file of its own overrides it.
    out.setdefault(CI_RELEASE, (CI_REQUIREMENTS, CI_PYTHON, [{"pin": "cachetools", "why": "imported but not declared by flytekit 1.16.10"}]))
    return [(v,) + out[v] for v in sorted(out, key=version_key)]


# ----- interpreters -----


def find_python(minor):
    """An interpreter of Python `minor` (e.g. "3.8") that runs here, or None.

    `python3.X` on the PATH first (a pyenv shim there may refuse to run, so
    each candidate is run once), then the pyenv installations."""
    candidates = []
    found = shutil.which(f"python{minor}")
    if found:
        candidates.append(found)
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    installed = glob.glob(os.path.join(pyenv_root, "versions", f"{minor}.*", "bin", "python"))
    candidates += sorted(installed, key=version_key, reverse=True)
    for c in candidates:
        try:
            got = subprocess.run(
                [c, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True, timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if got.returncode == 0 and got.stdout.strip() == minor:
            return c
    return None


def cmd_plan(args):
    wanted = None
    if args.releases:
        wanted = {v.strip() for v in args.releases.split(",") if v.strip()}
        known = {r[0] for r in releases()}
        unknown = sorted(wanted - known, key=version_key)
        if unknown:
            sys.exit("no requirements file for release(s): " + ", ".join(unknown))
    for version, path, minor, _ in releases():
        if wanted is not None and version not in wanted:
            continue
        # "-" for none: bash's `read` would merge an empty tab-separated field.
        python = find_python(minor) or "-"
        venv = os.path.join(args.venvs, version)
        print("\t".join([version, os.path.relpath(path, ROOT), python, minor, venv]))


# ----- pinning a release -----


def run(cmd, **kw):
    print("+ " + " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, **kw)


def cmd_pin(args):
    if len(args.pin) != len(args.why):
        sys.exit("give one --why per --pin")
    python = find_python(args.python)
    if python is None:
        sys.exit(f"no Python {args.python} interpreter here")
    scratch = tempfile.mkdtemp(prefix=f"flytekit-{args.version}-")
    try:
        venv = os.path.join(scratch, "venv")
        if run([python, "-m", "venv", venv]).returncode:
            sys.exit("could not make a venv")
        pip = [os.path.join(venv, "bin", "python"), "-m", "pip", "--disable-pip-version-check"]
        got = run(pip + ["install", "--quiet", f"flytekit=={args.version}"] + args.pin)
        if got.returncode:
            sys.exit(f"flytekit {args.version} does not install on Python {args.python} with {args.pin}")
        check = run([os.path.join(venv, "bin", "python"), "-c", IMPORT_CHECK], capture_output=True, text=True)
        if check.returncode:
            sys.stderr.write(check.stderr[-3000:])
            sys.exit(f"flytekit {args.version} installs but does not import on Python {args.python} with {args.pin}")
        frozen = run(pip + ["freeze", "--all", "--exclude-editable"], capture_output=True, text=True, check=True).stdout
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # pip, setuptools and wheel come with the venv; everything else is pinned.
    lines = [
        line for line in frozen.splitlines()
        if line and not re.match(r"(pip|setuptools|wheel|distribute)==", line, re.I)
    ]
    os.makedirs(RELEASES_DIR, exist_ok=True)
    target = os.path.join(RELEASES_DIR, f"{args.version}.txt")
    header = [
        f"# flytekit {args.version} and everything it imports, pinned, for the release",
        "# matrix (scripts/flytekit-matrix.sh installs it with `pip install --no-deps -r`).",
        f"# python: {args.python}",
    ]
    for spec, why in zip(args.pin, args.why):
        header.append(f"# pin: {spec} -- {why}")
    if not args.pin:
        header.append("# No extra pin: pip's own resolver gives a set that imports.")
    remade = f"scripts/flytekit_matrix.py pin {args.version} --python {args.python}"
    for spec, why in zip(args.pin, args.why):
        remade += f" --pin '{spec}' --why '{why}'"
    header.append(f"# Remade by: {remade}")
    with open(target, "w", encoding="utf-8") as f:
        f.write("\n".join(header + lines) + "\n")
    print(os.path.relpath(target, ROOT))


# ----- the report -----


def feature_outcomes(report):
    """The per-feature verdict of one `flytectx conform --json` report.

    The only place that reads the report's per-feature section (protocol 2),
    so that a change of its shape is met here. Returns {feature: outcome}
    where outcome is {"status": "checked" | "not provided" | "diverged" |
    "failed", "clauses": [differing clause ids], "reason": text}. A report
    without a per-feature section (a runner of protocol 1) has one outcome,
    for the pseudo-feature "all"."""
    section = report.get("features")
    if section is None:
        status = {"pass": "checked", "divergence": "diverged"}.get(report.get("verdict"), "failed")
        clauses = ((report.get("counterexample") or {}).get("divergence") or {}).get("clauses", [])
        return {"all": {"status": status, "clauses": clauses if status == "diverged" else [],
                        "reason": "runner of protocol 1: one verdict for every feature"}}
    out = {}
    for row in section:
        failed = (row.get("clauses") or {}).get("failed", [])
        status = row.get("status")
        if status == "skipped":
            out[row["feature"]] = {"status": "not provided", "clauses": [], "reason": row.get("reason", "")}
        elif status == "failed":
            kind = "diverged" if failed else "failed"
            out[row["feature"]] = {"status": kind, "clauses": failed, "reason": row.get("reason", "")}
        else:
            out[row["feature"]] = {"status": "checked", "clauses": [], "reason": ""}
    return out


def read_unavailable():
    rows = []
    if os.path.exists(UNAVAILABLE):
        with open(UNAVAILABLE, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    version, _, reason = line.partition(" -- ")
                    rows.append({"release": version.strip(), "reason": reason.strip()})
    return rows


def release_result(results, version, path, minor, pins):
    base = os.path.join(results, version)
    row = {"release": version, "python": minor,
           "requirements": os.path.relpath(path, ROOT), "extra_pins": pins}
    if os.path.exists(base + ".note"):
        with open(base + ".note", encoding="utf-8") as f:
            row.update(ran=False, skipped=f.read().strip())
        return row
    if not os.path.exists(base + ".exit"):
        return None  # not part of this run
    with open(base + ".exit") as f:
        row["exit"] = int(f.read().strip() or -1)
    row["ran"] = True
    try:
        with open(base + ".json", encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        with open(base + ".stderr", encoding="utf-8", errors="replace") as f:
            row["error"] = f.read()[-2000:]
        return row
    row["verdict"] = report.get("verdict")
    row["port"] = report.get("port")
    row["release_declared"] = report.get("release")
    row["features_declared"] = report.get("features_declared")
    corpus, random_traces = report.get("corpus") or {}, report.get("random") or {}
    row["corpus"] = {k: corpus.get(k) for k in ("passed", "failed", "skipped", "not_run")}
    row["random"] = {k: random_traces.get(k) for k in ("planned", "passed", "failed", "skipped", "not_run")}
    row["features"] = feature_outcomes(report)
    ce = report.get("counterexample")
    if ce:
        row["counterexample"] = {"origin": ce.get("origin"), "trace": ce.get("trace"),
                                 "divergence": ce.get("divergence")}
    pf = report.get("port_failure")
    if pf:
        row["port_failure"] = pf
    return row


def cell(outcome):
    if outcome is None:
        return "–"
    if outcome["status"] == "diverged":
        return "diverged: " + ", ".join(outcome["clauses"])
    return outcome["status"]


def cmd_report(args):
    rows, skipped = [], []
    for version, path, minor, pins in releases():
        row = release_result(args.results, version, path, minor, pins)
        if row is None:
            continue
        (rows if row.get("ran") else skipped).append(row)
    unavailable = read_unavailable()
    matrix = {"traces": args.traces, "seed": args.seed, "releases": rows,
              "skipped": skipped, "not_installable": unavailable}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "flytekit-matrix.json"), "w", encoding="utf-8") as f:
        json.dump(matrix, f, indent=2)
        f.write("\n")
    columns = [c for c in FEATURES if any(c in (r.get("features") or {}) for r in rows)]
    extra = sorted({k for r in rows for k in (r.get("features") or {}) if k not in FEATURES})
    columns += extra
    md = [
        "# flytekit release matrix",
        "",
        "Written by `scripts/flytekit-matrix.sh`: the flytekit adapter on the last patch",
        "of every flytekit minor release that installs here, checked by `flytectx conform",
        f"--profile compat` with the corpus and {args.traces} random traces (seed {args.seed}).",
        "A cell is *checked* (every trace of that feature passed), *not provided* (the",
        "release does not declare the feature, so nothing of it was sent), or *diverged*",
        "with the clause ids of the first difference. spec.md says which clauses depend",
        "on the release; conformance/probes/releases/README.md lists the differences found.",
        "",
        "| release | python | exit | " + " | ".join(columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for r in rows:
        feats = r.get("features") or {}
        if "error" in r:
            cells = ["no report"] * len(columns)
        else:
            cells = [cell(feats.get(c)) for c in columns]
        md.append(f"| {r['release']} | {r['python']} | {r.get('exit')} | " + " | ".join(cells) + " |")
    md.append("")
    md.append("## Where each run diverged first")
    md.append("")
    any_div = False
    for r in rows:
        ce = r.get("counterexample")
        if ce:
            any_div = True
            d = ce.get("divergence") or {}
            origin = ce.get("origin") or {}
            where = origin.get("file") or f"random trace {origin.get('number')}"
            md.append(f"- **{r['release']}** ({where}): `{json.dumps(d.get('op'))}` expected "
                      f"`{json.dumps(d.get('expected'))}`, got `{json.dumps(d.get('actual'))}`; "
                      f"clauses {', '.join(d.get('clauses', []))}")
        elif r.get("port_failure"):
            any_div = True
            pf = r["port_failure"]
            md.append(f"- **{r['release']}**: the port failed the protocol during {pf.get('during')}: "
                      f"{json.dumps({k: v for k, v in pf.items() if k not in ('trace', 'during')})[:300]}")
        elif "error" in r:
            any_div = True
            md.append(f"- **{r['release']}**: no report (exit {r.get('exit')}): "
                      + r["error"].strip().splitlines()[-1][:300] if r["error"].strip() else "")
    if not any_div:
        md.append("None.")
    md += ["", "## Installation", "", "| release | python | extra pins |", "|---|---|---|"]
    for r in rows + skipped:
        pins = "; ".join(f"`{p['pin']}` ({p['why']})" for p in r["extra_pins"]) or "none"
        md.append(f"| {r['release']} | {r['python']} | {pins} |")
    md += ["", "## Skipped here", ""]
    if skipped:
        md += [f"- {r['release']} (Python {r['python']}): {r['skipped']}" for r in skipped]
    else:
        md.append("None: every release with a requirements file ran.")
    md += ["", "## Not installable", ""]
    if unavailable:
        md += [f"- {u['release']}: {u['reason']}" for u in unavailable]
    else:
        md.append("None.")
    with open(os.path.join(args.out, "flytekit-matrix.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")
    print("flytekit-matrix: wrote " + ", ".join(
        os.path.relpath(os.path.join(args.out, n), ROOT) for n in ("flytekit-matrix.md", "flytekit-matrix.json")),
        file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    plan = sub.add_parser("plan")
    plan.add_argument("--releases")
    plan.add_argument("--venvs", default=DEFAULT_VENVS)
    pin = sub.add_parser("pin")
    pin.add_argument("version")
    pin.add_argument("--python", required=True)
    pin.add_argument("--pin", action="append", default=[])
    pin.add_argument("--why", action="append", default=[])
    report = sub.add_parser("report")
    report.add_argument("--results", required=True)
    report.add_argument("--out", required=True)
    report.add_argument("--traces", type=int, required=True)
    report.add_argument("--seed", type=int, required=True)
    sub.add_parser("import-check")
    args = p.parse_args()
    if args.cmd == "import-check":
        print(IMPORT_CHECK)
        return
    {"plan": cmd_plan, "pin": cmd_pin, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
