"""[ORIG-4]; also the explicit frame of [ORIG-1].

get_origin_stackframe(limit) takes the innermost limit+1 frames of the
calling thread's stack, counted from its *own* frame, and returns the
outermost of them. So, relative to the function that calls it:
  limit 0 -> get_origin_stackframe's own frame (inside flytekit)
  limit 1 -> the caller itself
  limit k -> the frame k-1 levels above the caller
  limit deeper than the stack -> the outermost frame of the thread
  limit < 0 -> IndexError (the branch that indexes with `limit` is reached
               only for negative limits, and always fails there)
The default, limit=2, is the caller's caller: push_context relies on that to
name *its* caller.
"""

import inspect
import threading
import traceback

from _probe import check, expect_raises, finish, saw, section

from flytekit.core import context_manager as cm
from flytekit.core.context_manager import FlyteContextManager as M

HERE = __file__
LINES = {}


def level3(limit):
    LINES["level3"] = inspect.currentframe().f_lineno + 1
    return M.get_origin_stackframe(limit=limit)


def level2(limit):
    LINES["level2"] = inspect.currentframe().f_lineno + 1
    return level3(limit)


def level1(limit):
    LINES["level1"] = inspect.currentframe().f_lineno + 1
    return level2(limit)


def where(frame):
    return (frame.filename, frame.lineno, frame.name)


section("get_origin_stackframe(limit), called from level3 <- level2 <- level1 <- module")
results = {}
for limit in (0, 1, 2, 3, 4, 5, 50):
    module_line = inspect.currentframe().f_lineno + 1
    results[limit] = where(level1(limit))
    saw(f"limit {limit}", results[limit])

check(results[0][0] == cm.__file__ and results[0][2] == "get_origin_stackframe",
      "limit 0 names get_origin_stackframe's own frame, inside flytekit")
check(results[1] == (HERE, LINES["level3"], "level3"), "limit 1 names the caller (level3) at its calling line")
check(results[2] == (HERE, LINES["level2"], "level2"), "limit 2 (the default) names the caller's caller")
check(results[3] == (HERE, LINES["level1"], "level1"), "limit 3 names the frame two levels above the caller")
check(results[4] == (HERE, module_line, "<module>"), "limit 4 names the module level here")
outermost = where(traceback.extract_stack()[0])
check(results[5] == results[50] == (HERE, module_line, "<module>") and outermost[0] == HERE,
      "a limit deeper than the stack names the outermost frame of the thread")

section("the default limit")


def calls_with_default():
    return M.get_origin_stackframe()


default_line = inspect.currentframe().f_lineno + 1
default = where(calls_with_default())
check(default == (HERE, default_line, "<module>"), "get_origin_stackframe() with no argument is limit 2: the caller's caller")

section("negative limits")
for limit in (-1, -2, -3):
    expect_raises(IndexError, lambda: M.get_origin_stackframe(limit=limit), f"limit {limit} raises IndexError")

section("in a thread, 'outermost' is the thread's bootstrap frame")
seen = {}


def worker():
    seen["deep"] = where(M.get_origin_stackframe(limit=50))


t = threading.Thread(target=worker)
t.start()
t.join()
saw("limit 50 in a thread", seen["deep"])
check(seen["deep"][0] == threading.__file__, "a deep limit in a thread names a frame of threading.py, outside user code")

section("push_context with an explicit frame ([ORIG-1])")
ctx = M.current_context().new_builder().build()
given = traceback.FrameSummary("<given>", 7, "somewhere")
returned = M.push_context(ctx, given)
check(ctx.origin_stackframe is given, "an explicit frame is recorded as given, by identity")
M.pop_context()
push_line = inspect.currentframe().f_lineno + 1
M.push_context(ctx, None)
check(where(ctx.origin_stackframe) == (HERE, push_line, "<module>"),
      "frame None means 'record the caller'; pushing again overwrites the origin of the same object")
M.pop_context()

finish()
