"""[CTX-5] (beside [CTX-4], [ES-7], [CS-5]).

flytekit's context, states and builder are dataclasses: `==` compares them
field by field (nested states by their own `==`), never by identity.
  - two builds of one builder are two objects that are `==`;
  - a context's origin is one of the compared fields, so pushing one of the
    two (which records an origin) makes them unequal;
  - ExecutionState and CompilationState compare by fields too (a plain
    `with_params()` copy is `==` to its source);
  - none of them is reliably hashable: ExecutionState, CompilationState (its
    node list) and Builder are unhashable; a context hashes its fields, so it
    is unhashable as soon as it holds an execution state, a compilation
    state or an origin, and hashable otherwise (a bare FlyteContext(...)).
Identity (`is`) is what flytekit's own stack code relies on; `==` is an
accident of the dataclass decorator.
"""

import traceback

from _probe import check, expect_raises, finish, saw, section

from flytekit.core.context_manager import CompilationState, ExecutionState, FlyteContext
from flytekit.core.context_manager import FlyteContextManager as M

section("contexts")
root = M.current_context()
builder = root.new_builder()
a, b = builder.build(), builder.build()
check(a is not b and a == b, "two builds of one builder are different objects that compare equal")
M.push_context(a)
check(a != b, "after pushing one (its origin is recorded) they no longer compare equal")
M.pop_context()
b.set_stackframe(a.origin_stackframe)
check(a == b, "with the same origin again they are equal again: the origin is a compared field")
check(root.new_builder().build() != root.new_builder().with_client(object()).build(), "a different opaque field makes them unequal")

bare = FlyteContext(file_access=object())
saw("hash of a bare FlyteContext(file_access=...)", hash(bare))
check(isinstance(hash(bare), int), "a bare context (no states, no origin) is hashable")
expect_raises(TypeError, lambda: hash(root), "a context holding an execution state is unhashable")
with_cs = FlyteContext(file_access=object(), compilation_state=CompilationState(prefix=""))
expect_raises(TypeError, lambda: hash(with_cs), "a context holding a compilation state is unhashable")
bare.set_stackframe(traceback.FrameSummary("x", 1, "y"))
expect_raises(TypeError, lambda: hash(bare), "a context with an origin is unhashable")

section("builders")
check(root.new_builder() == root.new_builder(), "two builders of one context compare equal")
expect_raises(TypeError, lambda: hash(root.new_builder()), "a builder is unhashable")

section("execution states")
es = root.execution_state
copy = es.with_params()
check(copy is not es and copy == es, "es.with_params() is a new object equal to es")
check(ExecutionState("wd") == ExecutionState("wd"), "two ExecutionState('wd') compare equal")
copy.take_branch()
check(copy != es, "a branch change makes them differ")
expect_raises(TypeError, lambda: hash(es), "an execution state is unhashable")

section("compilation states")
x, y = CompilationState(prefix="p"), CompilationState(prefix="p")
check(x is not y and x == y, "two CompilationState('p') compare equal")
x.add_node("n")
check(x != y, "adding a node to one makes them differ (node lists are compared)")
y.add_node("n")
check(x == y, "... and equal again once the node lists are equal")
expect_raises(TypeError, lambda: hash(x), "a compilation state is unhashable (its node list)")

finish()
