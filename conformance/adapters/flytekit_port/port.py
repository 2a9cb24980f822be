"""The operations of the trace language ([TRACE-2]) on real flytekit.

Every flytekit call of an operation is made through `self.call`, from the
operation's trace line ([OBS-7], see trace_lines.py), in the unit the
operation runs in ([TRACE-5])."""

import contextlib
import contextvars
import gc
import signal
import sys
import weakref

from . import api
from .api import (
    CONTEXT_STEP,
    HAS_ORIGINS,
    HAS_SIGNALS,
    STACK_VAR,
    BadRequest,
    CompilationState,
    ExecutionState,
    FlyteContext,
    FlyteContextManager,
    Unsupported,
)
from .errors import Raised
from .names import Names, Opaque
from .signals import Signals
from .trace_lines import from_library, location_of, on_line, origin_answer
from .units import MainUnit, TaskUnit, ThreadUnit


@contextlib.contextmanager
def _unraisable_errors_ignored():
    """[WITH-8]: the error of a dropped scope's cleanup reaches no caller; the
    runtime would print it as "Exception ignored", which says nothing here."""
    hook = getattr(sys, "unraisablehook", None)  # Python 3.8+
    if hook is not None:
        sys.unraisablehook = lambda unraisable: None
    try:
        yield
    finally:
        if hook is not None:
            sys.unraisablehook = hook


class Port:
    def __init__(self, scratch):
        self.scratch = scratch
        self.units = []
        self.signals = Signals(HAS_SIGNALS)
        self.reset()

    # ----- reset: a new process ([INIT-1], [TRACE-2]) -----

    def reset(self):
        # A trace may be cut off with scopes still open. Close them now, each
        # in its own unit: left to the garbage collector, a scope's cleanup
        # would run later, wherever that happens, and pop the new root.
        for u in reversed(self.units):
            while u.scopes:
                scope = u.scopes.pop()
                try:
                    u.run(scope.gen.close)
                except Exception:
                    pass
        for u in reversed(self.units[1:]):
            u.end()
        self.scratch.renew()  # [ES-2]: a new scratch directory
        self.signals.reset()  # [SIG-3]
        if STACK_VAR is not None:
            # [THR-1]: the ContextVar's default list is the process default
            # stack; the main thread's own binding is replaced by initialize().
            del contextvars.Context().run(STACK_VAR.get)[:]
        else:
            # Before 1.1 one list on the class is every thread's stack, and
            # initialize() replaces it.
            FlyteContextManager._OBJS = []
        # [INIT-1], [ORIG-3]: the import initialized, from flytekit's own code.
        from_library(FlyteContextManager.initialize)
        self.names = Names()
        self.units = [MainUnit()]
        self.sent = 0  # [OBS-7]: requests since reset, the current one included
        self.line = None

    def call(self, fn, *args, **kwargs):
        """fn(*args, **kwargs), called from the current operation's trace line."""
        return self.line(fn, args, kwargs)

    # ----- dispatch -----

    def answer(self, req):
        """One request: its `ok` value, or the exception it raised."""
        name = req.get("op")
        if name == "reset":
            self.reset()
            return None
        self.sent += 1
        self.line = on_line(self.sent)
        unit = self.units[-1]
        if name in self.OWN_DISPATCH:
            return self.OWN_DISPATCH[name](self, unit, req)
        if name not in self.UNIT_OPS:
            raise BadRequest("unknown operation %r" % (name,))
        op = self.UNIT_OPS[name]
        return unit.run(lambda: op(self, req))

    # ----- units and scopes ([TRACE-5]) -----

    def thread_begin(self, unit, req):
        self.units.append(ThreadUnit())

    def task_begin(self, unit, req):
        self.units.append(TaskUnit(unit))

    def unit_end(self, unit, req):
        if len(self.units) == 1:
            raise BadRequest("%s with no open unit" % req["op"])
        self.units.pop().end()

    def with_enter(self, unit, req):
        """[WITH-1], [WITH-6]: the scope is entered from the trace line, so
        that the origin with_context records is the operation."""

        def enter():
            scope = self.call(FlyteContextManager.with_context, self.builder(req))
            return scope, self.call(scope.__enter__)

        scope, ctx = unit.run(enter)
        unit.scopes.append(scope)
        return self.names.context(ctx)

    def with_exit(self, unit, req):
        """[WITH-2]..[WITH-5], [RUN-2]."""
        if not unit.scopes:
            raise BadRequest("with_exit with no open scope")
        scope = unit.scopes.pop()
        label = req["raise"]

        def leave():
            if label is None:
                self.call(scope.__exit__, None, None, None)
                return None
            error = Raised(label)
            try:
                raise error
            except Raised:
                suppressed = self.call(scope.__exit__, *sys.exc_info())
            if not suppressed:
                raise error
            return None

        return unit.run(leave)

    def with_drop(self, unit, req):
        """[WITH-8]: the unit lets go of its innermost scope without leaving
        it; the runtime reclaims it at once and its cleanup runs in the unit."""
        if not unit.scopes:
            raise BadRequest("with_drop with no open scope")
        held = [unit.scopes.pop()]

        def drop():
            reclaimed = weakref.ref(held[0].gen)
            with _unraisable_errors_ignored():
                held.pop()  # the last reference: the runtime cleans the scope up now
                if reclaimed() is not None:  # held elsewhere: what a collection would do
                    gc.collect()
            left = reclaimed()
            if left is not None:
                try:
                    left.close()
                except Exception:
                    pass

        unit.run(drop)
        return None

    # ----- operations of the main thread -----

    def sigint(self, unit, req):
        """[SIG-2]; [TRACE-6]: only outside every bracket, so on the main thread."""
        self.signals.check()
        return self.signals.sigint(self.call)

    def set_program_handler(self, unit, req):
        """[SIG-4]: the program's own SIGINT handler. Python installs signal
        handlers from the main thread only; the port's dispatcher is that
        thread, so it installs it for whichever unit asked."""
        self.signals.check()
        self.call(signal.signal, signal.SIGINT, self.signals.program_handler(req["tag"]))
        return None

    def make_file(self, unit, req):
        """[ES-2]: a file in the scratch directory."""
        self.scratch.make_file(req["path"])
        return None

    OWN_DISPATCH = {
        "thread_begin": thread_begin,
        "task_begin": task_begin,
        "thread_end": unit_end,
        "task_end": unit_end,
        "with_enter": with_enter,
        "with_exit": with_exit,
        "with_drop": with_drop,
        "sigint": sigint,
        "set_program_handler": set_program_handler,
        "make_file": make_file,
    }

    # ----- builders ([BLD-1]..[BLD-8], [COND-1]..[COND-8], [TRACE-3]) -----

    def builder(self, req):
        ctx = self.names.ctx.get(req["from"])
        steps = list(req["steps"])
        if steps and steps[0] == CONTEXT_STEP:
            # [BLD-5]: the context's own with_new_compilation_state().
            steps.pop(0)
            b = self.call(ctx.with_new_compilation_state)
        else:
            b = self.call(ctx.new_builder)
        for step in steps:
            method, args = self.step(step)
            if not hasattr(b, method):
                raise Unsupported("this flytekit's builder has no " + method)
            b = self.call(getattr(b, method), *args)
        return b

    def step(self, step):
        """A builder step of [TRACE-3]: the method's name and its arguments."""
        n = self.names
        if isinstance(step, str):
            method, args = step, ()
        else:
            ((method, value),) = step.items()
            if method == "with_execution_state":
                args = (n.es_ref(value),)
            elif method == "with_compilation_state":
                args = (n.cs_ref(value),)
            else:
                args = (n.opaque_ref(value),)
        if method not in api.BUILDER_STEPS:
            raise BadRequest("not a builder step here: %r" % (method,))
        return method, args

    # ----- operations run in the current unit ([TRACE-2]) -----

    def initialize(self, req):
        self.call(FlyteContextManager.initialize)  # [ORIG-3]: the root's origin is this operation

    def current(self, req):
        found = self.call(FlyteContextManager.current_context)
        # [CUR-2] before 1.1: an empty stack gives None instead of a new root.
        return None if found is None else self.names.context(found)

    def size(self, req):
        return self.call(FlyteContextManager.size)

    def push(self, req):
        return self.names.context(self.call(FlyteContextManager.push_context, self.names.ctx.get(req["ctx"])))

    def pop(self, req):
        return self.names.context(self.call(FlyteContextManager.pop_context))

    def new_context(self, req):
        return self.names.context(self.call(FlyteContext, file_access=self.names.opaque_ref(req["file_access"])))

    def build(self, req):
        return self.names.context(self.call(self.builder(req).build))

    def observe(self, req):
        return self.names.any_object(req["ref"])

    def user_space_params(self, req):
        ctx = self.names.ctx.get(req["ctx"])
        return self.names.opaque_name(self.call(getattr, ctx, "user_space_params"))

    def new_opaque(self, req):
        return self.names.opaque_name(Opaque())

    def es_arguments(self, req):
        """The five arguments of ExecutionState(...) and with_params(...) ([ES-1], [ES-4])."""
        return {
            "working_dir": req["working_dir"],
            "mode": api.mode(req["mode"]),
            "engine_dir": req["engine_dir"],
            "branch_eval_mode": api.branch(req["branch_eval_mode"]),
            "user_space_params": self.names.opaque_ref(req["user_space_params"]),
        }

    def new_es(self, req):
        return self.names.execution_state(self.call(ExecutionState, **self.es_arguments(req)))

    def es_with_params(self, req):
        es = self.names.es.get(req["es"])
        return self.names.execution_state(self.call(es.with_params, **self.es_arguments(req)))

    def ctx_new_es(self, req):
        ctx = self.names.ctx.get(req["ctx"])
        return self.names.execution_state(self.call(ctx.new_execution_state, req["working_dir"]))

    def take_branch(self, req):
        es = self.names.es.get(req["es"])
        self.call(es.take_branch)
        return self.names.execution_state(es)

    def branch_complete(self, req):
        es = self.names.es.get(req["es"])
        self.call(es.branch_complete)
        return self.names.execution_state(es)

    def is_local_execution(self, req):
        es = self.names.es.get(req["es"])
        if not hasattr(es, "is_local_execution"):
            raise Unsupported("this flytekit's ExecutionState has no is_local_execution")
        return self.call(es.is_local_execution)

    def builder_new_es(self, req):
        """[BLD-6]"""
        b = self.builder(req)
        return self.names.execution_state(self.call(b.new_execution_state, req["working_dir"]))

    def new_cs(self, req):
        """[CS-1]; with `nodes_of`, that state's node list is passed as `nodes`."""
        n = self.names
        given = {}
        nodes_of = n.cs_ref(req.get("nodes_of"))
        if nodes_of is not None:
            given["nodes"] = nodes_of.nodes
        made = self.call(
            CompilationState, prefix=req["prefix"], mode=req["mode"], task_resolver=n.opaque_ref(req["task_resolver"]), **given
        )
        return n.compilation_state(made)

    def cs_with_params(self, req):
        n = self.names
        nodes_of = n.cs_ref(req["nodes_of"])
        made = self.call(
            n.cs.get(req["cs"]).with_params,
            req["prefix"],
            mode=req["mode"],
            resolver=n.opaque_ref(req["task_resolver"]),
            nodes=None if nodes_of is None else nodes_of.nodes,
        )
        return n.compilation_state(made)

    def ctx_new_cs(self, req):
        ctx = self.names.ctx.get(req["ctx"])
        return self.names.compilation_state(self.call(ctx.new_compilation_state, req["prefix"]))

    def add_node(self, req):
        cs = self.names.cs.get(req["cs"])
        self.call(cs.add_node, Opaque())
        return self.names.compilation_state(cs)

    def builder_new_cs(self, req):
        """[BLD-7]"""
        b = self.builder(req)
        return self.names.compilation_state(self.call(b.new_compilation_state, req["prefix"]))

    def add_signal_handler(self, req):
        """[SIG-1]"""
        self.signals.check()
        self.call(FlyteContextManager.add_signal_handler, self.signals.handler(req["tag"], req.get("then")))

    def sigint_handler(self, req):
        """[SIG-4]"""
        self.signals.check()
        return self.signals.which(self.call(signal.getsignal, signal.SIGINT))

    def origin(self, req):
        """[ORIG-1], [OBS-7]: the frame the context recorded."""
        self.origins_check()
        ctx = self.names.ctx.get(req["ctx"])
        return origin_answer(self.call(getattr, ctx, "origin_stackframe"))

    def origin_frame(self, req):
        """[ORIG-4]: get_origin_stackframe(limit), called by this operation."""
        self.origins_check()
        limit = req["limit"]
        if not isinstance(limit, int) or not 0 <= limit <= 64:
            raise BadRequest("limit is an integer from 0 to 64, not %r" % (limit,))
        return origin_answer(self.call(FlyteContextManager.get_origin_stackframe, limit))

    def push_with_origin(self, req):
        """[ORIG-1]: a push given the location of an earlier operation."""
        self.origins_check()
        origin = req["origin"]
        if not isinstance(origin, int) or not 1 <= origin <= self.sent:
            raise BadRequest("origin is the number of an operation up to this one, not %r" % (origin,))
        ctx = self.names.ctx.get(req["ctx"])
        return self.names.context(self.call(FlyteContextManager.push_context, ctx, location_of(origin)))

    @staticmethod
    def origins_check():
        if not HAS_ORIGINS:
            raise Unsupported("this flytekit records no origins that can be given")

    UNIT_OPS = {
        "initialize": initialize,
        "current": current,
        "size": size,
        "push": push,
        "pop": pop,
        "new_context": new_context,
        "build": build,
        "observe": observe,
        "user_space_params": user_space_params,
        "new_opaque": new_opaque,
        "new_es": new_es,
        "es_with_params": es_with_params,
        "ctx_new_es": ctx_new_es,
        "take_branch": take_branch,
        "branch_complete": branch_complete,
        "is_local_execution": is_local_execution,
        "builder_new_es": builder_new_es,
        "new_cs": new_cs,
        "cs_with_params": cs_with_params,
        "ctx_new_cs": ctx_new_cs,
        "add_node": add_node,
        "builder_new_cs": builder_new_cs,
        "add_signal_handler": add_signal_handler,
        "sigint_handler": sigint_handler,
        "origin": origin,
        "origin_frame": origin_frame,
        "push_with_origin": push_with_origin,
    }
