"""Prototype: signal dispatch observed through trace operations, end to end
on flytekit.

Proposed operations (each runs from its trace line, see _trace_lines.py):
  add_signal_handler {"tag": t, "then": null | {"raise": label} | {"add": t2}
                      | {"exit": code}}
      -> null. When called, the handler records
         {"tag": t, "signum": s, "frame": <origin answer of its frame>}
         and then does what `then` says: nothing, raise an error of kind
         `label`, add a plain recording handler tagged t2, or exit the
         process with `code`.
  set_program_handler {"tag": t}
      -> null. The program installs its own SIGINT handler directly with the
         operating system, replacing whatever is there; when called it
         records {"program": t, "signum": s, "frame": ...} and returns.
  sigint_handler {}
      -> which handler SIGINT would run now: "library" (flytekit's hook),
         {"program": t}, or "default".
  sigint {}
      -> {"ran": [records, in call order], "end": E} where E is
         {"exit": code} (the process exits: the trace ends here),
         {"raised": label} (a handler raised; no exit, the trace goes on),
         or "returned" (a program handler returned; the trace goes on).

The script replays small traces, prints the answers and checks them.
"""

import signal
import sys

from _probe import check, finish, section
from _trace_lines import LIBRARY_DIR, Driver, origin_answer, replay

from flytekit.core.context_manager import FlyteContextManager as M


class Raised(Exception):
    """An error a trace asks a handler to raise."""

    def __init__(self, label):
        super().__init__(label)
        self.label = label


class SignalDriver(Driver):
    def reset(self):
        M.signal_handlers.clear()  # a new process has no handlers
        self.log = []
        self.program_handlers = {}

    def flytekit_handler(self, tag, then):
        def handler(signum, frame):
            self.log.append({"tag": tag, "signum": signum, "frame": origin_answer(frame)})
            if then is None:
                return
            ((what, arg),) = then.items()
            if what == "raise":
                raise Raised(arg)
            if what == "add":
                M.add_signal_handler(self.flytekit_handler(arg, None))
            elif what == "exit":
                sys.exit(arg)
        return handler

    def program_handler(self, tag):
        def handler(signum, frame):
            self.log.append({"program": tag, "signum": signum, "frame": origin_answer(frame)})
        self.program_handlers[handler] = tag
        return handler

    def which_handler(self, handler):
        if handler in self.program_handlers:
            return {"program": self.program_handlers[handler]}
        code = getattr(handler, "__code__", None)
        if code is not None and code.co_filename.startswith(LIBRARY_DIR):
            return "library"
        return "default"

    def prepare_more(self, req):
        op = req["op"]
        if op == "add_signal_handler":
            return M.add_signal_handler, (self.flytekit_handler(req["tag"], req["then"]),), lambda _: None
        if op == "set_program_handler":
            return signal.signal, (signal.SIGINT, self.program_handler(req["tag"])), lambda _: None
        if op == "sigint_handler":
            return signal.getsignal, (signal.SIGINT,), self.which_handler
        if op == "sigint":
            # raised from the trace line itself, so the handlers see that frame
            return signal.raise_signal, (signal.SIGINT,), None
        return super().prepare_more(req)

    def answer(self, op, outcome, to_answer):
        if op != "sigint":
            return super().answer(op, outcome, to_answer)
        ran, self.log = self.log, []
        error = outcome.error
        if isinstance(error, SystemExit):
            end = {"exit": error.code}
        elif isinstance(error, Raised):
            end = {"raised": error.label}
        elif error is None:
            end = "returned"
        else:
            end = {"unexpected": type(error).__name__}
        return {"ok": {"ran": ran, "end": end}}


def replay_signals(text):
    return replay(SignalDriver, text)


def tags(answer):
    return [r.get("tag", r.get("program")) for r in answer["ok"]["ran"]]


section("order, arguments, exit")
got = replay_signals("""
{"flytectx_trace": 2, "title": "dispatch"}
{"op": "reset"}
{"op": "add_signal_handler", "tag": "a", "then": null}
{"op": "add_signal_handler", "tag": "b", "then": null}
{"op": "initialize"}
{"op": "sigint"}
""")
check(got[6]["ok"]["ran"] == [{"tag": "a", "signum": 2, "frame": {"line": 6}}, {"tag": "b", "signum": 2, "frame": {"line": 6}}],
      "handlers kept across initialize run in order, given 2 and the frame of the interrupted line")
check(got[6]["ok"]["end"] == {"exit": 1}, "then the process exits with 1")

section("a handler that raises")
got = replay_signals("""
{"flytectx_trace": 2, "title": "raising handler"}
{"op": "reset"}
{"op": "add_signal_handler", "tag": "a", "then": null}
{"op": "add_signal_handler", "tag": "r", "then": {"raise": "boom"}}
{"op": "add_signal_handler", "tag": "c", "then": null}
{"op": "sigint"}
{"op": "size"}
{"op": "sigint"}
""")
check(tags(got[6]) == ["a", "r"] and got[6]["ok"]["end"] == {"raised": "boom"}, "dispatch stops at the raising handler; no exit")
check(got[7] == {"ok": 1} and tags(got[8]) == ["a", "r"], "the trace goes on, and a second SIGINT does the same")

section("a handler that adds a handler")
got = replay_signals("""
{"flytectx_trace": 2, "title": "adding handler"}
{"op": "reset"}
{"op": "add_signal_handler", "tag": "a", "then": {"add": "late"}}
{"op": "add_signal_handler", "tag": "b", "then": null}
{"op": "sigint"}
""")
check(tags(got[5]) == ["a", "b", "late"] and got[5]["ok"]["end"] == {"exit": 1}, "the added handler runs in the same pass, last")

section("no handlers; a handler that exits with its own status")
got = replay_signals("""
{"flytectx_trace": 2, "title": "no handlers"}
{"op": "reset"}
{"op": "sigint"}
""")
check(got[3] == {"ok": {"ran": [], "end": {"exit": 1}}}, "no handler: exit 1")
got = replay_signals("""
{"flytectx_trace": 2, "title": "exiting handler"}
{"op": "reset"}
{"op": "add_signal_handler", "tag": "a", "then": {"exit": 3}}
{"op": "add_signal_handler", "tag": "b", "then": null}
{"op": "sigint"}
""")
check(tags(got[5]) == ["a"] and got[5]["ok"]["end"] == {"exit": 3}, "a handler's own exit ends the dispatch with its status")

section("the program's own SIGINT handler, replaced by initialize")
got = replay_signals("""
{"flytectx_trace": 2, "title": "program handler"}
{"op": "reset"}
{"op": "sigint_handler"}
{"op": "add_signal_handler", "tag": "a", "then": null}
{"op": "set_program_handler", "tag": "p"}
{"op": "sigint_handler"}
{"op": "sigint"}
{"op": "initialize"}
{"op": "sigint_handler"}
{"op": "set_program_handler", "tag": "q"}
{"op": "pop"}
{"op": "current"}
{"op": "sigint_handler"}
{"op": "sigint"}
""")
check(got[3] == {"ok": "library"}, "after reset flytekit's hook is installed")
check(got[6] == {"ok": {"program": "p"}}, "the program replaced it")
check(got[7] == {"ok": {"ran": [{"program": "p", "signum": 2, "frame": {"line": 7}}], "end": "returned"}},
      "SIGINT then runs only the program's handler, and the trace goes on")
check(got[9] == {"ok": "library"}, "an explicit initialize puts flytekit's hook back")
check(got[11] == {"err": "AssertionError"} and got[13] == {"ok": "library"}, "so does a lazy one (current on an empty stack)")
check(tags(got[14]) == ["a"] and got[14]["ok"]["end"] == {"exit": 1}, "and SIGINT runs flytekit's handlers again")

section("initialize on another thread leaves the program's handler")
got = replay_signals("""
{"flytectx_trace": 2, "title": "initialize in a thread"}
{"op": "reset"}
{"op": "set_program_handler", "tag": "p"}
{"op": "thread_begin"}
{"op": "initialize"}
{"op": "pop"}
{"op": "current"}
{"op": "thread_end"}
{"op": "sigint_handler"}
""")
check(got[9] == {"ok": {"program": "p"}}, "neither an explicit nor a lazy initialize on a worker thread touches SIGINT")

finish()
