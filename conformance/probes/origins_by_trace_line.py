"""Prototype: port-neutral observation of origins, end to end on flytekit.

The idea: the adapter makes every flytekit call of a trace operation from a
frame whose file name is "<trace>" and whose line number is the operation's
line in the trace. Any frame flytekit records then names a trace line, and an
origin can be answered without saying anything language-specific:
    {"line": N}   the frame of trace line N
    "library"     a frame inside flytekit itself
    "outside"     any other frame (the driver, the thread bootstrap)
    null          no origin recorded
A trace line can *call* the lines that follow it, up to its matching
`call_end`: those lines then run in frames called from the `call_begin`
line's frame, so "limit frames above" of get_origin_stackframe has trace
lines to count.

The frames are made by _trace_lines.py.

This script replays small traces with this mechanism, prints what a port
would answer, and checks the answers against the rule a model would apply.
"""

import traceback

from _probe import check, finish, saw, section
from _trace_lines import TRACE, Driver, origin_answer, replay

from flytekit.core.context_manager import FlyteContextManager as M


class OriginDriver(Driver):
    """The stack operations, plus push with an origin, with_context, and the
    two origin observations."""

    def prepare_more(self, req):
        op = req["op"]
        if op == "push":
            ctx = self.names[req["ctx"]]
            given = req["origin"]
            frame = None if given is None else traceback.FrameSummary(TRACE, given["line"], "given")
            return M.push_context, (ctx, frame), self.name_of
        if op == "with_enter":
            self.scope = M.with_context(self.names[req["from"]].new_builder())
            return self.scope.__enter__, (), self.name_of
        if op == "with_exit":
            return self.scope.__exit__, (None, None, None), lambda _: None
        if op == "origin":
            return (lambda c: c.origin_stackframe), (self.names[req["ctx"]],), origin_answer
        if op == "get_origin_stackframe":
            return M.get_origin_stackframe, (req["limit"],), origin_answer
        return super().prepare_more(req)


def replay_origins(text):
    return replay(OriginDriver, text)


section("push (with and without an explicit origin), with_context, initialize, lazy initialize, reset")
got = replay_origins("""
{"flytectx_trace": 2, "title": "origins"}
{"op": "reset"}
{"op": "current"}
{"op": "origin", "ctx": "c0"}
{"op": "build", "from": "c0"}
{"op": "push", "ctx": "c1", "origin": null}
{"op": "origin", "ctx": "c1"}
{"op": "push", "ctx": "c1", "origin": {"line": 3}}
{"op": "origin", "ctx": "c1"}
{"op": "with_enter", "from": "c1"}
{"op": "origin", "ctx": "c2"}
{"op": "with_exit"}
{"op": "initialize"}
{"op": "current"}
{"op": "origin", "ctx": "c3"}
{"op": "pop"}
{"op": "current"}
{"op": "origin", "ctx": "c4"}
{"op": "build", "from": "c4"}
{"op": "origin", "ctx": "c5"}
""")
check(got[4] == {"ok": "library"}, "after reset (a new process) the root's origin is inside the library")
check(got[7] == {"ok": {"line": 6}}, "push with no origin: the push's own line")
check(got[9] == {"ok": {"line": 3}}, "push with an explicit origin: the line given, and it replaces the earlier one")
check(got[11] == {"ok": {"line": 10}}, "with_enter: its own line")
check(got[15] == {"ok": {"line": 13}}, "explicit initialize: its own line")
check(got[16] == {"err": "AssertionError"} and got[18] == {"ok": "library"},
      "a lazy initialization (current on an empty stack): inside the library")
check(got[20] == {"ok": None}, "a context never pushed has no origin: null")

section("get_origin_stackframe(limit) with nested calls")
got = replay_origins("""
{"flytectx_trace": 2, "title": "get_origin_stackframe"}
{"op": "get_origin_stackframe", "limit": 0}
{"op": "get_origin_stackframe", "limit": 1}
{"op": "get_origin_stackframe", "limit": 2}
{"op": "call_begin"}
  {"op": "call_begin"}
    {"op": "get_origin_stackframe", "limit": 0}
    {"op": "get_origin_stackframe", "limit": 1}
    {"op": "get_origin_stackframe", "limit": 2}
    {"op": "get_origin_stackframe", "limit": 3}
    {"op": "get_origin_stackframe", "limit": 4}
    {"op": "get_origin_stackframe", "limit": 99}
    {"op": "current"}
    {"op": "build", "from": "c0"}
    {"op": "push", "ctx": "c1", "origin": null}
    {"op": "origin", "ctx": "c1"}
  {"op": "call_end"}
  {"op": "get_origin_stackframe", "limit": 2}
{"op": "call_end"}
""")


def model(limit, line, calls):
    """What a model predicts: calls lists the open call_begin lines, outermost first."""
    frames = [{"line": k} for k in calls] + [{"line": line}]  # outermost first
    if limit == 0:
        return "library"
    if limit <= len(frames):
        return frames[-limit]
    return "outside"


expected = {2: model(0, 2, []), 3: model(1, 3, []), 4: model(2, 4, []),
            7: model(0, 7, [5, 6]), 8: model(1, 8, [5, 6]), 9: model(2, 9, [5, 6]), 10: model(3, 10, [5, 6]),
            11: model(4, 11, [5, 6]), 12: model(99, 12, [5, 6]), 18: model(2, 18, [5])}
saw("model predictions", expected)
check(all(got[n] == {"ok": v} for n, v in expected.items()),
      "every answer is the model's: limit 0 library, limit j the j-th trace frame outwards, then outside")
check(got[16] == {"ok": {"line": 15}}, "a push inside nested calls still records its own line")

section("the same in a thread: a deep limit is 'outside' (the thread's bootstrap)")
got = replay_origins("""
{"flytectx_trace": 2, "title": "in a thread"}
{"op": "thread_begin"}
{"op": "call_begin"}
{"op": "get_origin_stackframe", "limit": 2}
{"op": "get_origin_stackframe", "limit": 3}
{"op": "current"}
{"op": "origin", "ctx": "c0"}
{"op": "call_end"}
{"op": "thread_end"}
""")
check(got[4] == {"ok": {"line": 3}} and got[5] == {"ok": "outside"}, "limit 2 is the call line, limit 3 is outside")
check(got[7] == {"ok": "library"}, "a thread's lazily made root is inside the library")

finish()
