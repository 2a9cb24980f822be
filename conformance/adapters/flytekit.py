#!/usr/bin/env python3
"""Real flytekit as a flytectx port (spec.md section 14), compat profile.

Reads one request per line on stdin and writes one answer per line on stdout.
Every operation calls flytekit's own code: FlyteContextManager, FlyteContext
and its Builder, ExecutionState, CompilationState. Threads are real threads;
tasks run in a copy of their creator's context variables, which is what
asyncio.create_task gives a task; SIGINT is a real signal raised in this
process. The adapter itself only keeps the names of objects (spec [OBS-4])
and drives the operations; the package `flytekit_port/` next to this file
holds it, one module per concern:

  api.py          what the installed flytekit offers, found in its API
  trace_lines.py  calls made from code that names the trace's operation ([OBS-7])
  names.py        naming objects and summarizing them ([OBS-2]..[OBS-6])
  units.py        the main thread, threads and tasks ([TRACE-5])
  signals.py      signal handlers and SIGINT ([SIG-1]..[SIG-4])
  scratch.py      the scratch directory of each trace ([ES-2])
  port.py         the operations ([TRACE-2]) and their error kinds ([OBS-1])
  protocol.py     hello and the request loop ([PROTO-1]..[PROTO-5])

It runs on every flytekit release that has FlyteContextManager (0.19.1 and
later) and on every Python they need (3.7 and later: no newer syntax here).
What the installed release provides is found out by looking at its API, not
from a table of versions: a runner that offers protocol version 2 is told
the features found and the release; an operation, builder step or mode the
release lacks is answered {"err": "unsupported"}; a context field it lacks
is reported as null.

Run:  python conformance/adapters/flytekit.py
"""

import importlib.util
import os
import sys

# This file is named after the package it drives; keep its own directory off
# the import path so that `import flytekit` finds the real package, and load
# the adapter's own package by its location instead.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]


def _load_adapter_package():
    init = os.path.join(_here, "flytekit_port", "__init__.py")
    spec = importlib.util.spec_from_file_location("flytekit_port", init)
    package = importlib.util.module_from_spec(spec)
    sys.modules["flytekit_port"] = package
    spec.loader.exec_module(package)


_load_adapter_package()

# Execution states create their engine directory on disk ([ES-2]): work in a
# scratch directory, from before flytekit is imported, so that nothing lands
# in the directory the port was started from.
from flytekit_port.scratch import Scratch  # noqa: E402

scratch = Scratch()

from flytekit_port.protocol import main  # noqa: E402  (imports flytekit)

if __name__ == "__main__":
    main(scratch)
