"""[WITH-7], [WITH-8] (and [WITH-1], [WITH-2]).

with_context(b) only makes a single-use context manager; the build of `b`
and the push happen when the scope is *entered* (so a change to `b` between
the call and the entry shows in the new context). Entering it twice fails
(AttributeError, from contextlib); leaving without entering builds, pushes,
pops again and raises RuntimeError.

A scope that is entered and never left stays suspended. Its cleanup (pop
while the size is at least the mark) runs when the suspended scope is
garbage-collected: in CPython at once when the last reference goes (or at a
later cyclic collection when it sits in a reference cycle), in whatever
thread or task drops it, and on *that* unit's stack. A cleanup failure there
(popping the root) is not raised to anyone: Python prints "Exception ignored"
and carries on with the stack emptied.
"""

import contextvars
import gc
import threading

from _probe import check, expect_raises, finish, run_fresh, saw, section

from flytekit.core.context_manager import FlyteContext
from flytekit.core.context_manager import FlyteContextManager as M

root = M.current_context()

section("build and push happen on entry")
b = root.new_builder()
scope = M.with_context(b)
check(M.size() == 1, "with_context(b) itself pushes nothing")
client = object()
b.flyte_client = client
entered = scope.__enter__()
check(M.size() == 2 and entered.flyte_client is client, "entering builds b as it is then (a later change shows) and pushes")
expect_raises(AttributeError, scope.__enter__, "entering the same scope again fails")
scope.__exit__(None, None, None)
check(M.size() == 1, "leaving pops")

built = []


class RecordingBuilder(FlyteContext.Builder):
    def build(self):
        built.append(super().build())
        return built[-1]


never_entered = M.with_context(RecordingBuilder(file_access=root.file_access))
expect_raises(RuntimeError, lambda: never_entered.__exit__(None, None, None),
              "leaving a scope never entered raises RuntimeError")
check(len(built) == 1 and built[0].origin_stackframe is not None and M.size() == 1,
      "... after building and pushing (an origin was recorded) and popping again")

section("a scope never left, dropped: cleaned up at once (reference counting)")
scope = M.with_context(root.new_builder())
scope.__enter__()
M.push_context(root.new_builder().build())  # a leak inside the scope
check(M.size() == 3, "size 3 inside the scope")
del scope
check(M.size() == 1, "dropping the last reference runs the cleanup: both entries popped")

section("a scope in a reference cycle: cleaned up at the next cyclic collection")
gc.disable()
holder = {"scope": M.with_context(root.new_builder())}
holder["self"] = holder
holder["scope"].__enter__()
del holder
check(M.size() == 2, "after dropping it, nothing happened yet")
gc.collect()
check(M.size() == 1, "gc.collect() ran the cleanup")
gc.enable()

section("entered in a worker thread, dropped in the main thread")
box = {}


def worker():
    M.current_context()  # the worker's own stack, size 1
    box["scope"] = M.with_context(M.current_context().new_builder())
    box["scope"].__enter__()
    box["worker_size"] = M.size()


t = threading.Thread(target=worker)
t.start()
t.join()
mine = root.new_builder().build()
M.push_context(mine)
check(box["worker_size"] == 2 and M.size() == 2, "the worker's scope has mark 2; the main stack has size 2 too")
del box["scope"]
saw("main thread size after the drop", M.size())
check(M.size() == 1, "the cleanup ran in the main thread and popped the main thread's own context")

section("entered in the main thread, dropped inside a task's context")
check(M.size() == 1, "back to the root")
scope = M.with_context(root.new_builder())
scope.__enter__()  # main stack: size 2, mark 2
task_context = contextvars.copy_context()


def in_task():
    M.initialize()  # the task rebinds to a stack of its own ([TASK-3])
    M.push_context(root.new_builder().build())
    global scope
    del scope  # the last reference goes inside the task
    return M.size()


task_size = task_context.run(in_task)
saw("task size after the drop, main size", (task_size, M.size()))
check(task_size == 1 and M.size() == 2, "the cleanup popped the task's stack, and left the main thread's scope context in place")
M.pop_context()

section("a cleanup that pops the root during collection (fresh interpreter)")
code = """
from flytekit.core.context_manager import FlyteContextManager as M
b = M.current_context().new_builder()
try:
    M.pop_context()  # the stack is now empty
except AssertionError:
    pass
s = M.with_context(b)
s.__enter__()  # size 1: the scope's mark is 1
del s
print("size", M.size(), flush=True)
"""
status, out, err = run_fresh(code)
saw("stdout, stderr head", (out.strip(), err.strip().splitlines()[:1]))
check(status == 0 and out.strip() == "size 0", "the program carries on; the stack is left empty")
check(err.startswith("Exception ignored in") and "AssertionError" in err, "the AssertionError is only printed as 'Exception ignored'")

finish()
