"""[INIT-1], [SIG-5] (and [SIG-4]).

Point 3: importing flytekit initializes the *importing* thread. Imported from
a worker thread, that thread has size 1, the main thread size 0, and SIGINT
keeps Python's default handler until something initializes on the main thread.

Point 11: flytekit decides "am I the main thread?" by comparing the current
thread's *name* with the main thread's name. Python's signal.signal decides by
the real thread. A worker thread that carries the main thread's name therefore
calls signal.signal and gets ValueError: its initialize() fails, and so do its
current_context() on an empty stack and an import of flytekit made from it.
A renamed main thread still installs the hook; a worker that takes the main
thread's old name does not try to.
"""

from _probe import check, finish, run_fresh, saw, section

section("import from a worker thread (fresh interpreter)")
code = """
import signal, threading
seen = {}
def worker():
    from flytekit.core.context_manager import FlyteContextManager as M
    seen["worker_size"] = M.size()
    seen["handler_after_import"] = signal.getsignal(signal.SIGINT) is signal.default_int_handler
t = threading.Thread(target=worker)
t.start(); t.join()
from flytekit.core.context_manager import FlyteContextManager as M
seen["main_size"] = M.size()
M.current_context()
seen["main_size_after_current"] = M.size()
seen["handler_after_main_init"] = getattr(signal.getsignal(signal.SIGINT), "__qualname__", None)
print(repr(seen))
"""
status, out, err = run_fresh(code)
seen = eval(out.strip().splitlines()[-1]) if status == 0 else {}
saw("observed", seen)
check(status == 0, "flytekit can be imported from a worker thread")
check(seen.get("worker_size") == 1, "the importing worker thread has size 1")
check(seen.get("main_size") == 0, "the main thread has size 0 afterwards")
check(seen.get("handler_after_import") is True, "SIGINT keeps Python's default handler after that import")
check(seen.get("main_size_after_current") == 1, "the main thread's current_context() then initializes it lazily")
check(str(seen.get("handler_after_main_init")).endswith("main_signal_handler"),
      "... and that lazy initialize() on the main thread installs flytekit's SIGINT hook")

section("a worker thread named like the main thread (fresh interpreter)")
code = """
import signal, threading
from flytekit.core.context_manager import FlyteContextManager as M
seen = {}
def worker():
    seen["name"] = threading.current_thread().name
    seen["size_before"] = M.size()
    for attempt in ("first", "second"):
        try:
            M.current_context()
            seen[attempt] = "ok"
        except BaseException as e:
            seen[attempt] = type(e).__name__ + ": " + str(e)
    seen["size_after"] = M.size()
    try:
        M.initialize()
        seen["initialize"] = "ok"
    except BaseException as e:
        seen["initialize"] = type(e).__name__
t = threading.Thread(target=worker, name=threading.main_thread().name)
t.start(); t.join()
print(repr(seen))
"""
status, out, err = run_fresh(code)
seen = eval(out.strip().splitlines()[-1]) if status == 0 else {}
saw("observed", seen)
check(seen.get("name") == "MainThread", "the worker is named 'MainThread'")
check(str(seen.get("first")).startswith("ValueError") and str(seen.get("second")).startswith("ValueError"),
      "its current_context() on the empty stack fails with ValueError from signal.signal, every time")
check(seen.get("size_before") == 0 and seen.get("size_after") == 0, "its stack stays empty (size 0)")
check(seen.get("initialize") == "ValueError", "its explicit initialize() fails the same way")

section("importing flytekit from a worker named like the main thread (fresh interpreter)")
code = """
import threading
seen = {}
def worker():
    try:
        import flytekit.core.context_manager
        seen["import"] = "ok"
    except BaseException as e:
        seen["import"] = type(e).__name__
t = threading.Thread(target=worker, name="MainThread")
t.start(); t.join()
print(repr(seen))
"""
status, out, err = run_fresh(code)
seen = eval(out.strip().splitlines()[-1]) if status == 0 else {}
saw("observed", seen)
check(seen.get("import") == "ValueError", "the import itself fails with ValueError")

section("a renamed main thread (fresh interpreter)")
code = """
import signal, threading
from flytekit.core.context_manager import FlyteContextManager as M
seen = {}
threading.main_thread().name = "boss"
signal.signal(signal.SIGINT, signal.default_int_handler)
M.initialize()
seen["main_installs"] = signal.getsignal(signal.SIGINT) is not signal.default_int_handler
def worker():
    try:
        M.initialize()
        seen[threading.current_thread().name] = "ok"
    except BaseException as e:
        seen[threading.current_thread().name] = type(e).__name__
for name in ("boss", "MainThread"):
    t = threading.Thread(target=worker, name=name)
    t.start(); t.join()
print(repr(seen))
"""
status, out, err = run_fresh(code)
seen = eval(out.strip().splitlines()[-1]) if status == 0 else {}
saw("observed", seen)
check(seen.get("main_installs") is True, "the renamed main thread still installs the hook")
check(seen.get("boss") == "ValueError", "a worker that takes the main thread's new name fails")
check(seen.get("MainThread") == "ok", "a worker named 'MainThread' (the old name) initializes without touching signals")

finish()
