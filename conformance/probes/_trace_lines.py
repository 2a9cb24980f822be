"""Frames that name trace lines (shared by the origin and signal prototypes).

The adapter makes every flytekit call of a trace operation from a frame whose
file name is "<trace>" and whose line number is the operation's line in the
trace, so any frame flytekit records names a trace line.

How the frames are made (CPython): for line N, a two-line function whose
`def` is on line N-1 and whose only statement, on line N, makes the call
inside a `with` that catches what it raises; for a `call_begin` on line K, a
function whose loop on line K asks the driver for the next operation and
calls it. functools.partial adds no Python frame, so the stack is exactly:
driver -> line K -> ... -> line N -> flytekit.
"""

import functools
import json
import threading

from flytekit.core import context_manager as cm

TRACE = "<trace>"
LIBRARY_DIR = cm.__file__.rsplit("/core/", 1)[0]


class Outcome:
    """What the call on a trace line returned or raised (any BaseException,
    SystemExit included)."""

    def __enter__(self):
        self.value, self.error = None, None
        return self

    def __exit__(self, typ, value, tb):
        self.error = value
        return True


def _compile(source, filename, name):
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


@functools.lru_cache(maxsize=None)
def line_code(n):
    """on_line(outcome, fn, args) calls fn(*args) from trace line n (n >= 2)."""
    source = "\n" * (n - 2) + "def on_line(outcome, fn, args):\n    with outcome: outcome.value = fn(*args)\n"
    return _compile(source, TRACE, "on_line")


@functools.lru_cache(maxsize=None)
def call_code(k):
    """call(next_op) runs, from trace line k, each operation next_op() hands
    it, until next_op() returns None (k >= 2)."""
    source = "\n" * (k - 2) + "def call(next_op):\n    while (op := next_op()) is not None: op()\n"
    return _compile(source, TRACE, "call")


@functools.lru_cache(maxsize=None)
def library_code():
    """at_import(fn) calls fn from a frame that carries the library's file
    name: how the adapter emulates `reset`, a new process whose root was made
    by the import, from inside the library."""
    return _compile("def at_import(fn):\n    return fn()\n", cm.__file__, "at_import")


def origin_answer(frame):
    """A recorded frame as a port-neutral answer."""
    if frame is None:
        return None
    filename = getattr(frame, "filename", None) or frame.f_code.co_filename
    lineno = getattr(frame, "lineno", None) or frame.f_lineno
    if filename == TRACE:
        return {"line": lineno}
    if filename.startswith(LIBRARY_DIR):
        return "library"
    return "outside"


class Driver:
    """A miniature adapter that runs each operation from its trace line.

    It knows the stack operations, `call_begin`/`call_end` and
    `thread_begin`/`thread_end` (the operations between run on a new thread,
    which the thread_end joins); a prototype
    adds its own operations in `prepare_more`. Answers are {"ok": value} or
    {"err": kind}; contexts are named c0, c1, ... in order of appearance.
    """

    def __init__(self, lines):
        self.requests = iter(lines)  # (line number, request)
        self.names = {}
        self.answers = []  # (line, op, answer)
        self.pending = None  # (line, op, outcome, how to answer)

    def error_kind(self, error):
        return type(error).__name__

    def answer(self, op, outcome, to_answer):
        if outcome.error is not None:
            return {"err": self.error_kind(outcome.error)}
        return {"ok": to_answer(outcome.value)}

    def flush(self):
        if self.pending:
            n, op, outcome, to_answer = self.pending
            self.pending = None
            self.answers.append((n, op, self.answer(op, outcome, to_answer)))

    def next_op(self):
        """The next operation to run at the current call depth, or None at
        call_end (and at the end of the trace, at depth 0)."""
        self.flush()
        try:
            n, req = next(self.requests)
        except StopIteration:
            return None
        op = req["op"]
        if op in ("call_end", "thread_end"):
            self.answers.append((n, op, {"ok": None}))
            return None
        if op == "thread_begin":
            self.answers.append((n, op, {"ok": None}))
            return self.run_on_new_thread
        if op == "call_begin":
            self.answers.append((n, op, {"ok": None}))
            return functools.partial(call_code(n), self.next_op)
        if op == "reset":
            self.reset()
            library_code()(cm.FlyteContextManager.initialize)
            self.answers.append((n, op, {"ok": None}))
            return self.next_op()
        fn, args, to_answer = self.prepare(req)
        outcome = Outcome()
        self.pending = (n, op, outcome, to_answer)
        return functools.partial(line_code(n), outcome, fn, args)

    def reset(self):
        pass

    def prepare(self, req):
        """(function to call from the trace line, its arguments, how to answer its result)."""
        M = cm.FlyteContextManager
        op = req["op"]
        if op == "initialize":
            return M.initialize, (), lambda _: None
        if op == "current":
            return M.current_context, (), self.name_of
        if op == "pop":
            return M.pop_context, (), self.name_of
        if op == "size":
            return M.size, (), lambda size: size
        if op == "build":
            return self.names[req["from"]].new_builder().build, (), self.name_of
        return self.prepare_more(req)

    def prepare_more(self, req):
        raise ValueError(f"unknown operation {req['op']!r}")

    def name_of(self, ctx):
        for name, known in self.names.items():
            if known is ctx:
                return name
        name = f"c{len(self.names)}"
        self.names[name] = ctx
        return name

    def run_loop(self):
        while (op := self.next_op()) is not None:  # depth 0: called from the driver
            op()

    def run_on_new_thread(self):
        """Run the operations up to thread_end on a new thread, and wait for it."""
        thread = threading.Thread(target=self.run_loop)
        thread.start()
        thread.join()

    def run(self):
        self.run_loop()
        return self.answers


def replay(driver_class, text):
    """Run a trace given as text (line 1 is the header, as in a trace file),
    print each answer, and return {line: answer}."""
    lines = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        line = line.strip()
        if number == 1 or not line or line.startswith("#"):
            continue
        lines.append((number, json.loads(line)))
    answers = driver_class(lines).run()
    for n, op, answer in answers:
        print(f"   line {n:2}: {op:22} -> {json.dumps(answer)}")
    return {n: answer for n, _, answer in answers}
