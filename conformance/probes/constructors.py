"""[CTX-2], [CS-1] (and [CS-4] beside it).

FlyteContext(...) accepts every field as a keyword (or positionally, in the
order file_access, level, flyte_client, compilation_state, execution_state,
serialization_settings, in_a_condition, origin_stackframe,
output_metadata_tracker, worker_queue) and stores each as given, without
checking types. file_access is required: FlyteContext() raises TypeError.
Fields cannot be assigned afterwards (frozen), except through the origin
setter. FlyteContext.Builder(...) likewise takes every field but the origin,
requires file_access, starts at level 0, and its build() adds 1; its
positional order differs from the context's (the states come before the
client).

CompilationState(prefix, mode=1, task_resolver=None, nodes=<new list>) keeps
the `nodes` list it is given - even an empty one - so it is shared with the
caller (unlike with_params, which shares only a non-empty list). prefix is
required. ExecutionState's fields, unlike the context's, can be assigned.

push_context and pop_context format a debug message eagerly (even with
debug logging off) that repeats a tab `level` times: a context whose level is
not an integer makes them raise TypeError after the push or pop was done.
"""

import dataclasses
import traceback

from _probe import check, expect_raises, finish, section

from flytekit.core.context_manager import CompilationState, ExecutionState, FlyteContext

section("FlyteContext(...)")
expect_raises(TypeError, FlyteContext, "FlyteContext() with no arguments raises TypeError (file_access is required)")
values = {
    "file_access": object(),
    "level": 7,
    "flyte_client": object(),
    "compilation_state": CompilationState(prefix="p"),
    "execution_state": ExecutionState("wd"),
    "serialization_settings": object(),
    "in_a_condition": True,
    "origin_stackframe": traceback.FrameSummary("f", 1, "n"),
    "output_metadata_tracker": object(),
    "worker_queue": object(),
}
ctx = FlyteContext(**values)
check(all(getattr(ctx, k) is v for k, v in values.items()), "every field given by keyword is stored as that very object")
check([f.name for f in dataclasses.fields(FlyteContext)] == list(values), "the positional order is the one listed above")
positional = FlyteContext(*values.values())
check(all(getattr(positional, k) is v for k, v in values.items()), "the same fields can be given positionally")
odd = FlyteContext(file_access=None, level="x", in_a_condition="yes")
check((odd.file_access, odd.level, odd.in_a_condition) == (None, "x", "yes"), "nothing is type-checked (file_access None, level 'x')")
bare = FlyteContext(file_access=values["file_access"])
check((bare.level, bare.in_a_condition, bare.compilation_state, bare.execution_state, bare.origin_stackframe) == (0, False, None, None, None),
      "with file_access only: level 0, not in a condition, no states, no origin")
expect_raises(dataclasses.FrozenInstanceError, lambda: setattr(ctx, "level", 3), "fields cannot be assigned afterwards")

section("a context whose level is not an integer, pushed and popped")
from flytekit.core.context_manager import FlyteContextManager as M  # noqa: E402

size = M.size()
odd = FlyteContext(file_access=None, level=None)
expect_raises(TypeError, lambda: M.push_context(odd), "push_context fails: its debug message repeats a tab `level` times")
check(M.size() == size + 1 and M.current_context() is odd, "... after the push was done: the context is on the stack")
expect_raises(TypeError, M.pop_context, "pop_context fails the same way")
check(M.size() == size, "... after the pop was done")

section("FlyteContext.Builder(...)")
expect_raises(TypeError, FlyteContext.Builder, "Builder() with no arguments raises TypeError")
builder = FlyteContext.Builder(file_access=values["file_access"])
check(builder.level == 0 and builder.build().level == 1, "a builder made directly starts at level 0; its build is level 1")
expect_raises(TypeError, lambda: FlyteContext.Builder(file_access=None, origin_stackframe=None), "a builder has no origin field")
builder_order = [f.name for f in dataclasses.fields(FlyteContext.Builder)]
check(builder_order == ["file_access", "level", "compilation_state", "execution_state", "flyte_client",
                        "serialization_settings", "in_a_condition", "output_metadata_tracker", "worker_queue"],
      "the builder's positional order differs from the context's (states before the client)")

section("CompilationState(nodes=...)")
expect_raises(TypeError, CompilationState, "CompilationState() raises TypeError (prefix is required)")
given = []
cs = CompilationState(prefix="p", nodes=given)
check(cs.nodes is given, "an empty list given as nodes is kept, not copied")
given.append("from outside")
check(len(cs.nodes) == 1, "so a node appended by whoever holds the list shows in the state")
other = CompilationState(prefix="q", nodes=given)
other.add_node("n")
check(cs.nodes is other.nodes and len(cs.nodes) == 2, "two states made from one list share their nodes")
check(CompilationState(prefix="p", mode=0).mode == 0, "the constructor keeps mode 0 (no falsy rule here)")
check(cs.with_params("p", nodes=[]).nodes is not given, "for contrast, with_params does not share an empty list")

section("ExecutionState fields")
es = ExecutionState("wd2")
es.mode = ExecutionState.Mode.TASK_EXECUTION
check(es.mode is ExecutionState.Mode.TASK_EXECUTION, "an execution state's fields can be assigned directly")

finish()
