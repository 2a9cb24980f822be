"""Time the context stack's hot operations in real flytekit (1.16.10).

The operations are those of benches/stack.rs, so that the two can share one
table (scripts/bench-table.sh):

  push_pop        push_context(a built context, frame given) + pop_context()
  current         current_context()
  with_context    `with with_context(current_context().new_builder()): pass`
  build_push_pop  current_context().new_builder().build(), push (frame given), pop
  depth/N         push_pop with N contexts on the stack

The frame is given to push_context so that the figure is the stack's own
work: without it flytekit walks the interpreter stack for the origin, which
the Rust side gets for free from `#[track_caller]`. with_context always walks
it (flytekit gives no way around that), and so it is part of that figure.

Each operation is timed in a loop with time.perf_counter_ns, over several
repetitions of a loop sized to last about --target-ms; the median nanoseconds
per operation are printed as JSON on standard output. The garbage collector is
off while timing, as timeit does: reference counting still frees every
context, and a collection landing in one repetition is noise, not the stack.

Run it with the interpreter that scripts/python-env.sh prints.
"""

import argparse
import contextlib
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time

# Keep this script's directory off the import path, like the adapter does,
# so that `import flytekit` can only find the installed package.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

# Anything flytekit writes to disk lands in a scratch directory.
os.chdir(tempfile.mkdtemp(prefix="flytectx-flytekit-bench-"))

import flytekit  # noqa: E402
from flytekit.core.context_manager import FlyteContextManager as M  # noqa: E402


def op_push_pop(n):
    ctx = M.current_context().new_builder().build()
    frame = M.get_origin_stackframe()
    push, pop = M.push_context, M.pop_context
    start = time.perf_counter_ns()
    for _ in range(n):
        push(ctx, frame)
        pop()
    return time.perf_counter_ns() - start


def op_current(n):
    current = M.current_context
    start = time.perf_counter_ns()
    for _ in range(n):
        current()
    return time.perf_counter_ns() - start


def op_with_context(n):
    current, with_context = M.current_context, M.with_context
    start = time.perf_counter_ns()
    for _ in range(n):
        with with_context(current().new_builder()):
            pass
    return time.perf_counter_ns() - start


def op_build_push_pop(n):
    frame = M.get_origin_stackframe()
    current, push, pop = M.current_context, M.push_context, M.pop_context
    start = time.perf_counter_ns()
    for _ in range(n):
        push(current().new_builder().build(), frame)
        pop()
    return time.perf_counter_ns() - start


@contextlib.contextmanager
def flat():
    yield


@contextlib.contextmanager
def deep(depth):
    """A stack of `depth` contexts: the root, pushed again. Built once per
    operation, not per loop: a million pushes take seconds in flytekit."""
    root = M.current_context()
    frame = M.get_origin_stackframe()
    for _ in range(depth - 1):
        M.push_context(root, frame)
    try:
        yield
    finally:
        for _ in range(depth - 1):
            M.pop_context()


# name: (the stack it runs on, the timed loop)
OPS = {
    "push_pop": (flat, op_push_pop),
    "current": (flat, op_current),
    "with_context": (flat, op_with_context),
    "build_push_pop": (flat, op_build_push_pop),
    "depth/1": (lambda: deep(1), op_push_pop),
    "depth/1000": (lambda: deep(1_000), op_push_pop),
    "depth/1000000": (lambda: deep(1_000_000), op_push_pop),
}


def calibrate(run, target_ns):
    """A loop count whose run lasts about target_ns."""
    n = 100
    while True:
        took = run(n)
        if took >= target_ns / 10 or n >= 1 << 26:
            return max(1, int(n * target_ns / max(took, 1)))
        n *= 10


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7, help="repetitions per operation (default 7)")
    ap.add_argument("--target-ms", type=float, default=200, help="length of one repetition (default 200)")
    ap.add_argument("--only", action="append", choices=sorted(OPS), help="time only these operations")
    args = ap.parse_args()

    M.initialize()
    size = M.size()
    results = {}
    gc.disable()
    try:
        for name in args.only or OPS:
            stack, run = OPS[name]
            with stack():
                n = calibrate(run, args.target_ms * 1e6)
                per_op = [run(n) / n for _ in range(args.reps)]
            # Each operation must leave the stack as it found it.
            assert M.size() == size, f"{name} left the stack at {M.size()}"
            results[name] = {"median_ns": statistics.median(per_op), "ops_per_rep": n, "reps": per_op}
    finally:
        gc.enable()

    json.dump(
        {
            "flytekit": flytekit.__version__,
            "python": platform.python_version(),
            "ops": results,
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
