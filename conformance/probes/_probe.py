"""Shared helpers of the probes: a scratch working directory, a clean
environment, checks that stop the probe with a clear message, and a way to run
a snippet in a fresh interpreter.

Each probe states facts about flytekit 1.16.10 and checks them against the
installed package; a probe exits with status 1 when flytekit does not behave
as stated.
"""

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap

PYTHON = sys.executable

# flytekit reads its configuration from FLYTE_* variables, from
# FLYTECTL_CONFIG and from a `flytekit.config` in the working directory: keep
# all of them out, so that every probe sees the defaults.
for _name in list(os.environ):
    if _name.startswith(("FLYTE", "UCTL")):
        del os.environ[_name]

SCRATCH = tempfile.mkdtemp(prefix="flytectx-probe-")
atexit.register(shutil.rmtree, SCRATCH, True)
os.chdir(SCRATCH)
# flytekit makes temporary directories at import (its sandbox among them):
# put them, and those of every fresh interpreter, under the scratch directory.
os.environ["TMPDIR"] = SCRATCH
tempfile.tempdir = SCRATCH

_failures = []


def section(title):
    print(f"\n== {title}")


def saw(what, value):
    print(f"   saw  {what}: {value!r}")


def check(condition, fact):
    """Record one stated fact; print it, and remember it if it did not hold."""
    if condition:
        print(f"   ok   {fact}")
    else:
        print(f"   FAIL {fact}")
        _failures.append(fact)


def expect_raises(exc_type, fn, fact):
    """Check that fn() raises exc_type; return the exception (or None)."""
    try:
        value = fn()
    except exc_type as e:
        check(True, f"{fact} [{type(e).__name__}: {e}]")
        return e
    except BaseException as e:  # noqa: BLE001 - report whatever it was
        check(False, f"{fact} [raised {type(e).__name__}: {e} instead]")
        return None
    check(False, f"{fact} [returned {value!r} instead]")
    return None


def _sigint_as_in_a_terminal():
    # A command started in the background of a non-interactive shell (as CI
    # may start this one) inherits SIGINT ignored, and Python then keeps it
    # ignored instead of installing its default handler. The probes state
    # facts about a program started the usual way, so the fresh interpreter
    # starts with SIGINT at its default disposition.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_fresh(code, env=None, timeout=120, args=()):
    """Run `code` in a fresh interpreter (same venv) in a scratch directory,
    with SIGINT as a program started from a terminal has it.
    Returns (exit status, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [PYTHON, *args, "-c", textwrap.dedent(code)],
        cwd=SCRATCH,
        env=full_env,
        preexec_fn=_sigint_as_in_a_terminal,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


def last_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def finish():
    """End the probe: status 1 with the list of facts that did not hold."""
    if _failures:
        print(f"\nPROBE FAILED: {len(_failures)} stated fact(s) did not hold on this flytekit:")
        for fact in _failures:
            print(f"  - {fact}")
        sys.exit(1)
    print("\nall stated facts hold")
