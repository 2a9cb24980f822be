"""[SIG-4], [INIT-5].

Every initialize() that runs on the main thread installs a *new* SIGINT
handler (a fresh function object each time), replacing whatever handler the
program had: at import, on an explicit initialize(), and on a lazy one
(current_context() on an empty stack). initialize() on another thread leaves
the handler alone.
"""

import signal
import threading

from _probe import check, finish, run_fresh, saw, section

section("import replaces a handler the program installed before it (fresh interpreter)")
code = """
import signal
def program_handler(signum, frame): pass
signal.signal(signal.SIGINT, program_handler)
import flytekit.core.context_manager
h = signal.getsignal(signal.SIGINT)
print(repr((h is program_handler, getattr(h, "__qualname__", str(h)))))
"""
status, out, err = run_fresh(code)
kept, name = eval(out.strip().splitlines()[-1])
saw("handler after import", name)
check(not kept and name.endswith("main_signal_handler"), "the import installs flytekit's hook over the program's handler")

from flytekit.core.context_manager import FlyteContextManager as M  # noqa: E402


def program_handler(signum, frame):
    pass


def hook_now():
    return signal.getsignal(signal.SIGINT)


installed = []

section("explicit initialize()")
for label, previous in (("the program's handler", program_handler), ("SIG_IGN", signal.SIG_IGN),
                        ("Python's default handler", signal.default_int_handler)):
    signal.signal(signal.SIGINT, previous)
    M.initialize()
    installed.append(hook_now())
    check(installed[-1] is not previous and installed[-1].__qualname__.endswith("main_signal_handler"),
          f"initialize() replaces {label}")
check(len({id(h) for h in installed}) == len(installed), "each initialize() installs a different function object")

section("lazy initialize() (current_context() on an empty stack)")
signal.signal(signal.SIGINT, program_handler)
try:
    M.pop_context()
except AssertionError:
    pass
M.current_context()
check(hook_now() is not program_handler and hook_now().__qualname__.endswith("main_signal_handler"),
      "a lazy initialize() on the main thread replaces the program's handler too")

section("initialize() on another thread")
signal.signal(signal.SIGINT, program_handler)
t = threading.Thread(target=M.initialize)
t.start()
t.join()
check(hook_now() is program_handler, "initialize() in a worker thread leaves the program's handler in place")
lazy = threading.Thread(target=M.current_context)
lazy.start()
lazy.join()
check(hook_now() is program_handler, "so does a lazy initialize() in a worker thread")

finish()
