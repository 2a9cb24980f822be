"""[ORIG-3]; also [ORIG-1] and [ORIG-2].

The root context's origin is the frame that called `initialize()` directly:
  - after the import-time initialization: the module level of
    flytekit/core/context_manager.py (its `<module>` frame);
  - after a lazy initialization (current_context() on an empty stack): the
    frame of flytekit's own `current_context`, never the user's line;
  - after an explicit initialize(): the line that called initialize().
push_context records the line that called it; with_context records the line
that *entered* the scope (the `with` statement / __enter__ call), not the
line that called with_context(b).
"""

import inspect
import threading

from _probe import check, finish, run_fresh, saw, section

from flytekit.core import context_manager as cm
from flytekit.core.context_manager import FlyteContextManager as M

LIBRARY = cm.__file__
HERE = __file__


def line():
    """The line number of the caller."""
    return inspect.currentframe().f_back.f_lineno


def where(frame):
    return None if frame is None else (frame.filename, frame.lineno, frame.name)


section("the root after import (fresh interpreter)")
code = """
from flytekit.core import context_manager as cm
f = cm.FlyteContextManager.current_context().origin_stackframe
print(repr((f.filename == cm.__file__, f.name, f.lineno, sum(1 for _ in open(cm.__file__)))))
"""
status, out, err = run_fresh(code)
in_library, name, lineno, module_lines = eval(out.strip().splitlines()[-1])
saw("origin (in flytekit's module?, function, line, module length)", (in_library, name, lineno, module_lines))
check(status == 0 and in_library and name == "<module>",
      "after import the root's origin is the module level of context_manager.py")
check(lineno == module_lines, "... at the module's last line, the initialize() call at the end of the module")

section("lazy initialization: current_context() on an empty stack")
try:
    M.pop_context()  # removes the root and complains ([POP-2])
except AssertionError:
    pass
check(M.size() == 0, "the stack is empty after popping the root")
call_line = line() + 1
root = M.current_context()
saw("root origin", where(root.origin_stackframe))
check(root.origin_stackframe.filename == LIBRARY and root.origin_stackframe.name == "current_context",
      "the lazily made root's origin is flytekit's own current_context frame")
check(root.origin_stackframe.lineno != call_line or root.origin_stackframe.filename != HERE,
      "... not the user's line that called current_context()")

section("explicit initialize()")
call_line = line() + 1
M.initialize()
root = M.current_context()
saw("root origin", where(root.origin_stackframe))
check(where(root.origin_stackframe) == (HERE, call_line, "<module>"),
      "after an explicit initialize() the root's origin is the line that called it")


def helper_that_initializes():
    M.initialize()
    return inspect.currentframe().f_lineno - 1


inner_line = helper_that_initializes()
root = M.current_context()
saw("root origin (initialize inside a helper)", where(root.origin_stackframe))
check(where(root.origin_stackframe) == (HERE, inner_line, "helper_that_initializes"),
      "it is the *direct* caller of initialize() (the helper), not the helper's caller")

section("lazy initialization in a new thread")
seen = {}


def worker():
    seen["origin"] = where(M.current_context().origin_stackframe)


t = threading.Thread(target=worker)
t.start()
t.join()
saw("root origin in the thread", seen["origin"])
check(seen["origin"][0] == LIBRARY and seen["origin"][2] == "current_context",
      "a thread's lazily made root also names flytekit's current_context")

section("push_context and with_context ([ORIG-1], [ORIG-2])")
ctx = M.current_context().new_builder().build()
check(ctx.origin_stackframe is None, "a built context has no origin until it is pushed")
push_line = line() + 1
M.push_context(ctx)
check(where(ctx.origin_stackframe) == (HERE, push_line, "<module>"), "push_context records the line that called it")
M.pop_context()

builder = M.current_context().new_builder()
call_line = line() + 1
scope = M.with_context(builder)
enter_line = line() + 1
entered = scope.__enter__()
saw("with_context origin", where(entered.origin_stackframe))
check(where(entered.origin_stackframe) == (HERE, enter_line, "<module>"),
      "with_context records the line that entered the scope (__enter__), not the with_context(b) call")
check(call_line != enter_line, "... (the two lines differ in this probe)")
scope.__exit__(None, None, None)

finish()
