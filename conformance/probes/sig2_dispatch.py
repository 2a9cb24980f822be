"""[SIG-2].

On SIGINT flytekit's hook walks the live handler list, calling each handler
with (signum, frame): signum is 2, frame the frame that was running when the
signal was handled. Then it calls the `exit` builtin with 1.
  - order is the order of registration;
  - a handler added while the dispatch runs is called in the same pass (the
    walk is over the live list);
  - a handler that raises stops the dispatch: later handlers do not run,
    there is no exit, and the handler's exception comes out of whatever code
    the main thread was running;
  - the exit is a SystemExit(1) raised in the main thread, which the program
    can catch and carry on; the `exit` builtin also closes sys.stdin;
  - with no handlers it is the same SystemExit(1);
  - uncaught, the process ends with status 1 and SIGINT no longer raises
    KeyboardInterrupt;
  - a handler that calls sys.exit(3) stops the dispatch with status 3;
  - without the `site` module (python -S) there is no `exit` builtin and the
    hook fails with NameError instead of exiting.
"""

import signal
import sys

from _probe import check, finish, run_fresh, saw, section

from flytekit.core.context_manager import FlyteContextManager as M

log = []


def recorder(tag):
    def handler(signum, frame):
        log.append((tag, signum, frame.f_code.co_name))
    return handler


def interrupted_here():
    """Raise SIGINT in this frame; return how the dispatch ended."""
    try:
        signal.raise_signal(signal.SIGINT)
        return "returned"
    except SystemExit as e:
        return ("SystemExit", e.code)
    except Exception as e:  # noqa: BLE001 - a handler's own error
        return (type(e).__name__, str(e))


def dispatch(*handlers):
    M.signal_handlers.clear()
    log.clear()
    for h in handlers:
        M.add_signal_handler(h)
    return interrupted_here()


section("arguments and order")
stdin_open_before = sys.stdin is not None and not sys.stdin.closed
outcome = dispatch(recorder("a"), recorder("b"), recorder("c"))
saw("outcome", outcome)
saw("calls (tag, signum, name of the frame's function)", list(log))
check(outcome == ("SystemExit", 1), "after the handlers, a SystemExit(1) reaches the interrupted code and can be caught")
check(log == [("a", 2, "interrupted_here"), ("b", 2, "interrupted_here"), ("c", 2, "interrupted_here")],
      "handlers run once each in registration order, given 2 and the interrupted frame")
check(stdin_open_before and sys.stdin.closed, "the exit builtin closed sys.stdin on the way")


def raising(signum, frame):
    log.append(("raiser", signum, frame.f_code.co_name))
    raise RuntimeError("handler failed")


section("a handler that raises")
outcome = dispatch(recorder("a"), raising, recorder("c"))
saw("outcome", outcome)
saw("calls", list(log))
check(outcome == ("RuntimeError", "handler failed"), "its exception comes out of the interrupted code; no SystemExit")
check([tag for tag, _, _ in log] == ["a", "raiser"], "handlers after it do not run")


def adder(signum, frame):
    log.append(("adder", signum, frame.f_code.co_name))
    M.add_signal_handler(recorder("added"))


section("a handler that adds a handler while the dispatch runs")
outcome = dispatch(recorder("a"), adder, recorder("c"))
saw("calls", list(log))
check([tag for tag, _, _ in log] == ["a", "adder", "c", "added"], "the added handler runs in the same pass, last")
check(outcome == ("SystemExit", 1), "and then the exit")
check(len(M.signal_handlers) == 4, "the added handler stays in the list")

section("no handlers")
outcome = dispatch()
check(outcome == ("SystemExit", 1) and log == [], "with no handler, the hook is just SystemExit(1)")


def exits_3(signum, frame):
    sys.exit(3)


section("a handler that exits itself")
outcome = dispatch(recorder("a"), exits_3, recorder("c"))
check(outcome == ("SystemExit", 3) and [t for t, _, _ in log] == ["a"], "sys.exit(3) in a handler stops the dispatch with code 3")
M.signal_handlers.clear()

section("uncaught, in a fresh interpreter")
code = """
import signal
from flytekit.core.context_manager import FlyteContextManager as M
M.add_signal_handler(lambda s, f: print("handler", s, flush=True))
signal.raise_signal(signal.SIGINT)
print("still running")
"""
status, out, err = run_fresh(code)
saw("status, stdout, last stderr line", (status, out.strip(), err.strip().splitlines()[-1:] if err.strip() else []))
check(status == 1 and out.strip() == "handler 2", "the process exits with status 1 after the handler; nothing after the signal runs")
check("KeyboardInterrupt" not in err and err.strip() == "", "no KeyboardInterrupt, no traceback")

section("without the site module (python -S): no `exit` builtin")
code = """
import signal
from flytekit.core.context_manager import FlyteContextManager as M
try:
    signal.raise_signal(signal.SIGINT)
except BaseException as e:
    print(type(e).__name__)
"""
status, out, err = run_fresh(code, args=("-S",), env={"PYTHONPATH": ":".join(p for p in sys.path if p)})
saw("status, what the interrupted code caught", (status, out.strip()))
check(out.strip() == "NameError", "the hook raises NameError where it means to exit")

finish()
