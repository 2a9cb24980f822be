"""[PROF-1], [STK-1], [THR-1], [THR-2], [TASK-1].

Point 8: the stack lives in a context variable whose default value is one
shared list. A unit that never set the variable ("unset") and a unit that set
it to that very list ("bound to the default stack") read the same list object
through every flytekit call, so no flytekit API can tell them apart; only
contextvars internals can.

Point 9: "a new thread starts unset" holds for threading.Thread on this
Python (the probe prints the version: a thread does not inherit its creator's
context variables here). Other ways of running code on a thread differ:
  - asyncio.to_thread runs the function in a *copy of the caller's* context
    variables: it shares the caller's stack (a push there is seen by the
    caller), while an initialize() there rebinds only that copy;
  - loop.run_in_executor and ThreadPoolExecutor.submit run in the worker
    thread's own context: a worker starts unset, and keeps whatever binding a
    job gave it for every later job on that worker.
Point 7 is about spec.md's text only; the profile-dependent behaviours it
names are those probed here and in the signal probes.
"""

import asyncio
import contextvars
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from _probe import check, finish, saw, section

from flytekit.core import context_manager as cm
from flytekit.core.context_manager import FlyteContextManager as M

saw("python", sys.version.split()[0])
DEFAULT = contextvars.Context().run(cm.flyte_context_Var.get)  # the shared default list
DEFAULT.clear()


def in_new_thread(fn):
    box = {}

    def run():
        box["value"] = fn()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return box["value"]


def observe():
    """Everything the API shows, plus the internals that differ."""
    return {
        "size": M.size(),
        "reads_default_list": cm.flyte_context_Var.get() is DEFAULT,
        "variable_set_in_this_unit": cm.flyte_context_Var in contextvars.copy_context(),
    }


section("[STK-1]: unset vs bound to the default stack")


def unset_thread():
    return observe()


def bound_thread():
    M.push_context(cm.FlyteContext(file_access=None))  # binds to the default list ([STK-1])
    try:
        M.pop_context()  # removes it again: the default list is empty, the binding stays
    except AssertionError:
        pass
    return observe()


unset = in_new_thread(unset_thread)
bound = in_new_thread(bound_thread)
saw("unset thread", unset)
saw("bound thread", bound)
check(unset["variable_set_in_this_unit"] is False and bound["variable_set_in_this_unit"] is True,
      "internally the two differ: only the second has set the variable")
check(unset["size"] == bound["size"] == 0 and unset["reads_default_list"] and bound["reads_default_list"],
      "but both read the same default list object, so size/current/push/pop see the same stack")

section("[THR-2]: threading.Thread")
M.initialize()
check(in_new_thread(M.size) == 0, "a new threading.Thread sees size 0 while the main thread has 1 (starts unset)")

section("[THR-2]: asyncio.to_thread shares the caller's stack")


async def with_to_thread():
    # One worker, so that every job below runs on the same thread.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
    before = M.size()
    pushed = M.current_context().new_builder().build()
    await asyncio.to_thread(M.push_context, pushed)
    after_push = M.size()
    top_after_push = M.current_context() is pushed

    def initialize_and_measure():
        M.initialize()
        return M.size(), threading.get_ident()

    size_inside, worker = await asyncio.to_thread(initialize_and_measure)
    after_init = M.size()
    worker_size_later, same_worker = await asyncio.get_running_loop().run_in_executor(
        None, lambda: (M.size(), threading.get_ident() == worker))
    on_worker = worker != threading.get_ident() and same_worker
    return before, after_push, top_after_push, on_worker, size_inside, after_init, worker_size_later


before, after_push, top_after_push, on_worker, size_inside, after_init, worker_later = asyncio.run(with_to_thread())
saw("sizes: before, after a push in to_thread, inside an initialize in to_thread, after it, a plain executor job",
    (before, after_push, size_inside, after_init, worker_later))
check(on_worker, "to_thread and the later executor job really run on one and the same worker thread")
check(after_push == before + 1 and top_after_push, "a push inside to_thread lands on the caller's stack")
check(size_inside == 1 and after_init == after_push, "an initialize() inside to_thread rebinds only its copy; the caller keeps its stack")
check(worker_later == 0, "the worker's own context is untouched by to_thread jobs: a plain executor job there sees size 0")
M.pop_context()

section("[THR-2]: a pool worker keeps its binding between jobs")
with ThreadPoolExecutor(max_workers=1) as pool:
    first = pool.submit(lambda: (M.size(), M.current_context().level, threading.get_ident())).result()
    pushed = pool.submit(lambda: M.push_context(M.current_context().new_builder().build())).result()
    second = pool.submit(lambda: (M.size(), M.current_context() is pushed, threading.get_ident())).result()
saw("first job (size before, root level, thread)", first)
saw("a later job (size, sees the earlier push on top, thread)", second)
check(first[0] == 0, "a new pool worker starts unset (size 0)")
check(first[2] == second[2] and second[:2] == (2, True), "a later job on the same worker sees the stack an earlier job left")
check(M.size() == 1, "the submitting thread is not affected")

finish()
