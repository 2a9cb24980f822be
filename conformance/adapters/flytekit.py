#!/usr/bin/env python3
"""Real flytekit as a flytectx port (spec.md section 14), compat profile.

Reads one request per line on stdin and writes one answer per line on stdout.
Every operation calls flytekit's own code: FlyteContextManager, FlyteContext
and its Builder, ExecutionState, CompilationState. Threads are real threads;
tasks run in a copy of their creator's context variables, which is what
asyncio.create_task gives a task; SIGINT is a real signal raised in this
process. The adapter itself only keeps the names of objects (spec [OBS-4])
and drives the operations.

It runs on every flytekit release that has FlyteContextManager (0.19.1 and
later) and on every Python they need (3.7 and later: no newer syntax here).
What the installed release provides is found out by looking at its API, not
from a table of versions: a runner that offers protocol version 2 is told
the features found and the release; an operation, builder step or mode the
release lacks is answered {"err": "unsupported"}; a context field it lacks
is reported as null.

Run:  python conformance/adapters/flytekit.py
"""

import contextvars
import json
import os
import queue
import re
import signal
import sys
import tempfile
import threading
import traceback

# This file is named after the package it drives; keep its own directory off
# the import path so that `import flytekit` finds the real package.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

# Execution states create their engine directory on disk ([ES-2]): work in a
# scratch directory so that the directories a trace names land there.
os.chdir(tempfile.mkdtemp(prefix="flytectx-flytekit-port-"))

import flytekit  # noqa: E402
from flytekit.core import context_manager as cm  # noqa: E402
from flytekit.core.context_manager import (  # noqa: E402
    BranchEvalMode,
    CompilationState,
    ExecutionState,
    FlyteContext,
    FlyteContextManager,
)
from flytekit.core.python_auto_container import default_task_resolver  # noqa: E402

PROTOCOL = "flytectx-port"
NEWEST_VERSION = 2
# Import initialized the stack ([INIT-1]); its root holds the default file-access
# provider ([OBS-5]), wherever this release defines it.
default_local_file_access_provider = FlyteContextManager.current_context().file_access
SANDBOX = str(default_local_file_access_provider.local_sandbox_dir)
# Where the stack lives: a ContextVar from 1.1 on, a list on the class before.
STACK_VAR = getattr(cm, "flyte_context_Var", None)
HAS_SIGNALS = hasattr(FlyteContextManager, "add_signal_handler") and hasattr(FlyteContextManager, "signal_handlers")
# Execution modes of spec [ES-3]; a release may have fewer ([ES-3] variants).
SPEC_MODES = (
    "TASK_EXECUTION", "LOCAL_WORKFLOW_EXECUTION", "LOCAL_TASK_EXECUTION", "DYNAMIC_TASK_EXECUTION",
    "EAGER_EXECUTION", "EAGER_LOCAL_EXECUTION", "LOCAL_DYNAMIC_TASK_EXECUTION",
)
SPEC_BRANCH_MODES = ("BRANCH_ACTIVE", "BRANCH_SKIPPED")
BUILDER_STEPS = (
    "enter_conditional_section", "with_new_compilation_state", "with_execution_state",
    "with_compilation_state", "with_file_access", "with_client", "with_serialization_settings",
    "with_output_metadata_tracker", "with_worker_queue",
)
SLOTS = [
    ("file_access", "with_file_access"),
    ("flyte_client", "with_client"),
    ("serialization_settings", "with_serialization_settings"),
    ("output_metadata_tracker", "with_output_metadata_tracker"),
    ("worker_queue", "with_worker_queue"),
]


class Opaque:
    """A value flytekit only carries along ([CTX-1])."""


class Raised(Exception):
    """The error a trace raises at the end of a `with` body ([RUN-2])."""

    def __init__(self, label):
        super().__init__(label)
        self.label = label


class BadRequest(Exception):
    pass


class Unsupported(Exception):
    """The installed flytekit has no API for what was asked."""


def features():
    """The features of protocol 2 this flytekit provides, found in its API."""
    builder = FlyteContext.Builder
    found = ["stack"]
    if hasattr(FlyteContextManager, "with_context"):
        found.append("with")
    if hasattr(FlyteContext, "new_builder") and hasattr(builder, "build"):
        found.append("builders")
    if hasattr(builder, "enter_conditional_section"):
        found.append("conditionals")
    if all(hasattr(ExecutionState, m) for m in ("with_params", "take_branch", "branch_complete")):
        found.append("execution_states")
    if all(hasattr(CompilationState, m) for m in ("with_params", "add_node")):
        found.append("compilation_states")
    found += ["threads", "tasks"]  # Python's own; how flytekit shares stacks is the release's behaviour
    if HAS_SIGNALS:
        found.append("signals")
    return found


def release():
    return str(getattr(flytekit, "__version__", "unknown"))


class Numbering:
    """First-observation numbering of one kind of object ([OBS-4])."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.objects = []  # holding them keeps their id() unique
        self.by_id = {}

    def name(self, obj):
        n = self.by_id.get(id(obj))
        if n is None:
            n = len(self.objects)
            self.objects.append(obj)
            self.by_id[id(obj)] = n
        return "%s%d" % (self.prefix, n)

    def get(self, name):
        digits = name[len(self.prefix):] if name.startswith(self.prefix) else ""
        if not digits.isdigit() or int(digits) >= len(self.objects):
            raise BadRequest("unknown name %r" % (name,))
        return self.objects[int(digits)]


class Names:
    def __init__(self):
        self.ctx = Numbering("c")
        self.es = Numbering("es")
        self.cs = Numbering("cs")
        self.opaque = Numbering("o")

    # ----- answers ([OBS-2], [OBS-3], [OBS-5], [OBS-6]) -----

    def opaque_name(self, o):
        if o is None:
            return None
        if o is default_local_file_access_provider:
            return "default_file_access"
        if o is default_task_resolver:
            return "default_task_resolver"
        return self.opaque.name(o)

    def context(self, c):
        out = {"id": self.ctx.name(c), "level": c.level, "in_a_condition": c.in_a_condition}
        out["compilation_state"] = None if c.compilation_state is None else self.compilation_state(c.compilation_state)
        out["execution_state"] = None if c.execution_state is None else self.execution_state(c.execution_state)
        for field, _ in SLOTS:
            # A field this release's FlyteContext does not have reads null.
            out[field] = self.opaque_name(getattr(c, field, None))
        return out

    def execution_state(self, e):
        out = {"id": self.es.name(e)}
        out["mode"] = None if e.mode is None else e.mode.name
        out["branch_eval_mode"] = None if e.branch_eval_mode is None else e.branch_eval_mode.name
        out["working_dir"] = sandboxed(e.working_dir)
        out["engine_dir"] = sandboxed(e.engine_dir)
        out["user_space_params"] = self.opaque_name(e.user_space_params)
        return out

    def compilation_state(self, s):
        out = {"id": self.cs.name(s), "prefix": s.prefix, "mode": s.mode}
        out["task_resolver"] = self.opaque_name(s.task_resolver)
        out["nodes"] = len(s.nodes)
        return out

    # ----- requests ([TRACE-4]) -----

    def opaque_ref(self, name):
        if name is None:
            return None
        if name == "default_file_access":
            return default_local_file_access_provider
        if name == "default_task_resolver":
            return default_task_resolver
        return self.opaque.get(name)

    def es_ref(self, name):
        return None if name is None else self.es.get(name)

    def cs_ref(self, name):
        return None if name is None else self.cs.get(name)


RANDOM_DIR = re.compile(r"[0-9a-f]{32}$")


def sandboxed(path):
    """[OBS-6]: the default provider's sandbox directory reads `<sandbox>`.

    Releases before 0.23 use a new random directory of the sandbox where later
    ones use the sandbox itself; its random name (a uuid in hex, a form no
    trace can give) reads `<random>`."""
    p = str(path)
    if p == SANDBOX or p.startswith(SANDBOX + os.sep):
        rest = p[len(SANDBOX):]
        parts = rest.split(os.sep)
        if len(parts) >= 2 and RANDOM_DIR.match(parts[1]):
            parts[1] = "<random>"
        return "<sandbox>" + os.sep.join(parts)
    return p


def enum_member(enum, name, known):
    if name is None:
        return None
    try:
        return enum[name]
    except KeyError:
        if name in known:
            raise Unsupported("this flytekit has no %s %s" % (enum.__name__, name))
        raise BadRequest("unknown %s %r" % (enum.__name__, name))


def mode(name):
    return enum_member(ExecutionState.Mode, name, SPEC_MODES)


def branch(name):
    return enum_member(BranchEvalMode, name, SPEC_BRANCH_MODES)


# ----- units: the main thread, threads, tasks ([TRACE-5]) -----


class MainUnit:
    def __init__(self):
        self.scopes = []

    def run(self, fn):
        return fn()


class ThreadUnit:
    """A real thread, fed one operation at a time. A new Python 3.11 thread
    starts with empty context variables ([THR-2])."""

    def __init__(self):
        self.scopes = []
        self.requests = queue.Queue()
        self.results = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            fn = self.requests.get()
            if fn is None:
                return
            try:
                self.results.put((True, fn()))
            except BaseException as e:  # handed back to the dispatcher
                self.results.put((False, e))

    def run(self, fn):
        self.requests.put(fn)
        ok, value = self.results.get()
        if ok:
            return value
        raise value

    def end(self):
        self.requests.put(None)
        self.thread.join()


class TaskUnit:
    """A task: runs on its creator's thread in its own copy of the creator's
    context variables, as asyncio.create_task makes it ([TASK-1])."""

    def __init__(self, creator):
        self.scopes = []
        self.creator = creator
        self.context = creator.run(contextvars.copy_context)

    def run(self, fn):
        return self.creator.run(lambda: self.context.run(fn))

    def end(self):
        pass


class Port:
    def __init__(self):
        self.reset()

    def reset(self):
        units = getattr(self, "units", [])
        # A trace may be cut off with scopes still open. Close them now, each
        # in its own unit: left to the garbage collector, a scope's cleanup
        # would run later, wherever that happens, and pop the new root.
        for u in reversed(units):
            while u.scopes:
                scope = u.scopes.pop()
                try:
                    u.run(scope.gen.close)
                except Exception:
                    pass
        for u in reversed(units[1:]):
            u.end()
        # [SIG-3], [THR-1]: a new process has no handlers and an empty default stack.
        if HAS_SIGNALS:
            del FlyteContextManager.signal_handlers[:]
        if STACK_VAR is not None:
            # The ContextVar's default list is the process default stack; the
            # main thread's own binding is replaced by initialize() below.
            del contextvars.Context().run(STACK_VAR.get)[:]
        else:
            # Before 1.1 one list on the class is every thread's stack, and
            # initialize() below replaces it.
            FlyteContextManager._OBJS = []
        FlyteContextManager.initialize()  # [INIT-1]
        self.names = Names()
        self.units = [MainUnit()]
        self.handler_log = []

    def builder(self, req):
        b = self.names.ctx.get(req["from"]).new_builder()
        for step in req["steps"]:
            if isinstance(step, str):
                method, args = step, ()
            else:
                ((method, value),) = step.items()
                if method == "with_execution_state":
                    args = (self.names.es_ref(value),)
                elif method == "with_compilation_state":
                    args = (self.names.cs_ref(value),)
                else:
                    args = (self.names.opaque_ref(value),)
            if method not in BUILDER_STEPS:
                raise BadRequest("unknown builder step %r" % (method,))
            if not hasattr(b, method):
                raise Unsupported("this flytekit's builder has no " + method)
            b = getattr(b, method)(*args)
        return b

    def add_handler(self, tag):
        if not HAS_SIGNALS:
            raise Unsupported("this flytekit has no signal handlers")
        log = self.handler_log
        FlyteContextManager.add_signal_handler(lambda signum, frame: log.append({"tag": tag, "signum": signum}))

    def sigint(self):
        # [SIG-2]: a real SIGINT; flytekit's handler runs ours, then exit(1),
        # which in Python is a SystemExit we catch here.
        if not HAS_SIGNALS:
            raise Unsupported("this flytekit has no signal handlers")
        try:
            os.kill(os.getpid(), signal.SIGINT)  # signal.raise_signal is Python 3.8+
            for _ in range(1000):  # give the interpreter a chance to run the handler
                pass
            code = None
        except SystemExit as e:
            code = e.code
        return {"ran": list(self.handler_log), "exit": code}

    def op(self, req):
        """One operation, run in the current unit. Returns the `ok` value."""
        n = self.names
        name = req["op"]
        if name == "initialize":
            FlyteContextManager.initialize()
            return None
        if name == "current":
            # Before 1.1 an empty stack gives None instead of a new root.
            found = FlyteContextManager.current_context()
            return None if found is None else n.context(found)
        if name == "size":
            return FlyteContextManager.size()
        if name == "push":
            return n.context(FlyteContextManager.push_context(n.ctx.get(req["ctx"])))
        if name == "pop":
            return n.context(FlyteContextManager.pop_context())
        if name == "new_context":
            return n.context(FlyteContext(file_access=n.opaque_ref(req["file_access"])))
        if name == "build":
            return n.context(self.builder(req).build())
        if name == "observe":
            ref = req["ref"]
            if ref.startswith("cs"):
                return n.compilation_state(n.cs.get(ref))
            if ref.startswith("c"):
                return n.context(n.ctx.get(ref))
            if ref.startswith("es"):
                return n.execution_state(n.es.get(ref))
            return n.opaque_name(n.opaque_ref(ref))
        if name == "user_space_params":
            return n.opaque_name(n.ctx.get(req["ctx"]).user_space_params)
        if name == "new_opaque":
            return n.opaque_name(Opaque())
        if name == "new_es":
            return n.execution_state(
                ExecutionState(
                    working_dir=req["working_dir"],
                    mode=mode(req["mode"]),
                    engine_dir=req["engine_dir"],
                    branch_eval_mode=branch(req["branch_eval_mode"]),
                    user_space_params=n.opaque_ref(req["user_space_params"]),
                )
            )
        if name == "es_with_params":
            return n.execution_state(
                n.es.get(req["es"]).with_params(
                    working_dir=req["working_dir"],
                    mode=mode(req["mode"]),
                    engine_dir=req["engine_dir"],
                    branch_eval_mode=branch(req["branch_eval_mode"]),
                    user_space_params=n.opaque_ref(req["user_space_params"]),
                )
            )
        if name == "ctx_new_es":
            return n.execution_state(n.ctx.get(req["ctx"]).new_execution_state(req["working_dir"]))
        if name == "take_branch":
            es = n.es.get(req["es"])
            es.take_branch()
            return n.execution_state(es)
        if name == "branch_complete":
            es = n.es.get(req["es"])
            es.branch_complete()
            return n.execution_state(es)
        if name == "new_cs":
            return n.compilation_state(
                CompilationState(prefix=req["prefix"], mode=req["mode"], task_resolver=n.opaque_ref(req["task_resolver"]))
            )
        if name == "cs_with_params":
            nodes_of = n.cs_ref(req["nodes_of"])
            return n.compilation_state(
                n.cs.get(req["cs"]).with_params(
                    req["prefix"],
                    mode=req["mode"],
                    resolver=n.opaque_ref(req["task_resolver"]),
                    nodes=None if nodes_of is None else nodes_of.nodes,
                )
            )
        if name == "ctx_new_cs":
            return n.compilation_state(n.ctx.get(req["ctx"]).new_compilation_state(req["prefix"]))
        if name == "add_node":
            cs = n.cs.get(req["cs"])
            cs.add_node(Opaque())
            return n.compilation_state(cs)
        if name == "add_signal_handler":
            self.add_handler(req["tag"])
            return None
        raise BadRequest(f"unknown operation {name!r}")

    def with_enter(self, unit, req):
        def enter():
            scope = FlyteContextManager.with_context(self.builder(req))
            ctx = scope.__enter__()
            return scope, ctx

        scope, ctx = unit.run(enter)
        unit.scopes.append(scope)
        return self.names.context(ctx)

    def with_exit(self, unit, req):
        scope = unit.scopes.pop()
        label = req["raise"]

        def leave():
            if label is None:
                scope.__exit__(None, None, None)
                return None
            error = Raised(label)
            try:
                raise error
            except Raised:
                suppressed = scope.__exit__(*sys.exc_info())
            if not suppressed:
                raise error
            return None

        return unit.run(leave)

    def answer(self, req):
        name = req.get("op")
        if name == "reset":
            self.reset()
            return None
        unit = self.units[-1]
        if name == "thread_begin":
            self.units.append(ThreadUnit())
            return None
        if name == "task_begin":
            self.units.append(TaskUnit(unit))
            return None
        if name in ("thread_end", "task_end"):
            if len(self.units) == 1:
                raise BadRequest(f"{name} with no open unit")
            self.units.pop().end()
            return None
        if name == "sigint":
            return self.sigint()
        if name == "with_enter":
            return self.with_enter(unit, req)
        if name == "with_exit":
            return self.with_exit(unit, req)
        return unit.run(lambda: self.op(req))


# [OBS-1]: which flytekit exception means which error kind, per operation.
ERRORS = {
    "pop": {AssertionError: "popped_root", IndexError: "empty_stack"},  # [POP-2], [POP-3]
    "with_exit": {AssertionError: "popped_root"},  # [WITH-4]
    "new_es": {ValueError: "invalid_working_dir"},  # [ES-1]
    # [ES-8]: a file access that is not a provider has no sandbox directory;
    # flytekit's ExecutionParameters answers unknown attributes with AssertionError.
    "ctx_new_es": {AttributeError: "no_sandbox_dir", AssertionError: "no_sandbox_dir"},
}


def error_kind(e, req):
    if isinstance(e, Raised):
        return e.label
    if isinstance(e, Unsupported):
        return "unsupported"
    for exc_type, kind in ERRORS.get(req.get("op"), {}).items():
        if isinstance(e, exc_type):
            return kind
    if isinstance(e, (BadRequest, KeyError, TypeError, json.JSONDecodeError)):
        return "bad_request"
    return "unexpected_" + type(e).__name__


def hello_answer(hello):
    """[PROTO-2]: the answer to the runner's hello, or an error answer.

    Version 2 when the runner offers it (`newest_version` >= 2): it names the
    features this flytekit provides and the release. Otherwise version 1,
    which claims every feature of the reference release."""
    if hello.get("protocol") != PROTOCOL:
        return None
    lowest = hello.get("version")
    newest = hello.get("newest_version", lowest)
    if not isinstance(lowest, int) or not isinstance(newest, int) or not lowest <= 1 <= newest:
        return None
    if hello.get("profile") != "compat":
        return {"err": "unsupported_profile"}
    version = min(newest, NEWEST_VERSION)
    answer = {"protocol": PROTOCOL, "version": version,
              "name": "flytekit %s (python %s)" % (release(), sys.version.split()[0]),
              "profiles": ["compat"]}
    if version >= 2:
        answer["features"] = features()
        answer["release"] = release()
    return {"hello": answer}


def main():
    # flytekit's SIGINT handler calls the `exit` builtin, which closes
    # sys.stdin before raising SystemExit: read requests from a duplicate.
    requests = os.fdopen(os.dup(sys.stdin.fileno()), "r", encoding="utf-8")
    out = sys.stdout
    port = None
    for line in requests:
        line = line.rstrip("\n")
        if port is None:
            try:
                hello = json.loads(line)["hello"]
                answer = hello_answer(hello) if isinstance(hello, dict) else None
            except Exception:
                answer = None
            if answer is None:
                print("bad hello: " + line, file=sys.stderr)
                answer = {"err": "bad_request"}
            elif "hello" in answer:
                port = Port()
        else:
            req = {}
            try:
                req = json.loads(line)
                answer = {"ok": port.answer(req)}
            except Exception as e:
                kind = error_kind(e, req if isinstance(req, dict) else {})
                if kind in ("bad_request",) or kind.startswith("unexpected_"):
                    traceback.print_exc(file=sys.stderr)
                answer = {"err": kind}
        out.write(json.dumps(answer, separators=(",", ":")) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
