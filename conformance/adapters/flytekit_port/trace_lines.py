"""Calls made from code that names the operation they belong to ([OBS-7]).

flytekit records stack frames as origins ([ORIG-1]..[ORIG-4]). So that every
frame it can record says something a trace can compare, the adapter makes
the flytekit calls of operation n from a function compiled as line n of a
file named "<trace>", which it calls directly from its own code:

    adapter code -> line n of "<trace>" -> flytekit

A frame flytekit records then reads {"op": n} when it is on line n of
"<trace>", "library" when it is in flytekit's own files, and "outside"
otherwise: the adapter's code around the call, or the start-up code of a
thread (get_origin_stackframe with a limit beyond the calling line).

A `reset` stands for a new process, whose root the import made from
flytekit's own code ([INIT-1], [ORIG-3]): its initialize() is called from a
function compiled under the file name of flytekit's context_manager module.
"""

import functools
import traceback

from .api import CONTEXT_MANAGER_FILE, is_library_file

TRACE_FILE = "<trace>"
# The name of the function on each trace line; it shows in frames, no answer reads it.
CALL = "call"


def _compiled(source, filename):
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[CALL]


@functools.lru_cache(maxsize=None)
def on_line(n):
    """call(fn, args, kwargs): fn(*args, **kwargs), called from line n (n >= 1)
    of "<trace>". The whole function is one line, so its only frame is on line n."""
    source = "\n" * (n - 1) + "def %s(fn, args, kwargs): return fn(*args, **kwargs)\n" % CALL
    return _compiled(source, TRACE_FILE)


@functools.lru_cache(maxsize=None)
def _in_library():
    return _compiled("def %s(fn): return fn()\n" % CALL, CONTEXT_MANAGER_FILE)


def from_library(fn):
    """fn(), called from code whose file is flytekit's context_manager module."""
    return _in_library()(fn)


def location_of(n):
    """The location of operation n's code, as flytekit records locations:
    what push_with_origin passes to push_context ([ORIG-1])."""
    return traceback.FrameSummary(TRACE_FILE, n, CALL, lookup_line=False)


def origin_answer(frame):
    """[OBS-7]: a recorded frame (a traceback.FrameSummary, or None) as an answer."""
    if frame is None:
        return None
    if frame.filename == TRACE_FILE:
        return {"op": frame.lineno}
    if is_library_file(frame.filename):
        return "library"
    return "outside"
