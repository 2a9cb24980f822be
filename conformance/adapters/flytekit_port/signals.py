"""Signal handlers and SIGINT ([SIG-1]..[SIG-4]; the signal operations of
[TRACE-2]).

Handlers are added to flytekit's own list, the program's SIGINT handler is
installed with signal.signal, and `sigint` raises a real SIGINT in this
process: flytekit's hook, when it is installed, runs the handlers and then
calls the `exit` builtin, whose SystemExit is caught here ([SIG-2]: a
program can catch it and carry on, and so does the port, [PORT-1])."""

import os
import signal

from .api import FlyteContextManager, Unsupported, is_library_file
from .errors import Raised


def _raise_sigint():
    raise_signal = getattr(signal, "raise_signal", None)  # Python 3.8+
    if raise_signal is not None:
        # Runs the Python-level handler before it returns.
        raise_signal(signal.SIGINT)
        return
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(1000):  # give the interpreter a chance to run the handler
        pass


class Signals:
    def __init__(self, available):
        self.available = available
        self.ran = []  # what the handlers of the current `sigint` recorded
        self.programs = {}  # the program's own SIGINT handlers, to their tags

    def check(self):
        if not self.available:
            raise Unsupported("this flytekit has no signal handlers")

    def reset(self):
        """[SIG-3]: a new process has no handlers."""
        if self.available:
            del FlyteContextManager.signal_handlers[:]
        self.ran = []
        self.programs.clear()

    def handler(self, tag, then):
        """A handler of the list: records its tag and signal number, then
        does what `then` says ([TRACE-2] `add_signal_handler`)."""
        if then is not None and (not isinstance(then, dict) or len(then) != 1):
            raise ValueError("`then` is null or a one-field object, not %r" % (then,))

        def handler(signum, frame):
            self.ran.append({"tag": tag, "signum": signum})
            if then is None:
                return
            ((what, value),) = then.items()
            if what == "raise":
                raise Raised(value)
            if what == "add":
                FlyteContextManager.add_signal_handler(self.handler(value, None))

        return handler

    def program_handler(self, tag):
        """The program's own SIGINT handler: records and returns ([SIG-4])."""

        def handler(signum, frame):
            self.ran.append({"program": tag, "signum": signum})

        self.programs[handler] = tag
        return handler

    def which(self, installed):
        """[TRACE-2] `sigint_handler`: whose SIGINT handler `installed` is."""
        if installed in self.programs:
            return {"program": self.programs[installed]}
        code = getattr(installed, "__code__", None)
        if code is not None and is_library_file(code.co_filename):
            return "library"
        raise RuntimeError("SIGINT has a handler that is neither flytekit's nor the program's: %r" % (installed,))

    def sigint(self, call):
        """[SIG-2]: SIGINT arrives, raised by `call` (from the operation's
        trace line); what ran and how it ended."""
        self.ran = []
        try:
            call(_raise_sigint)
        except SystemExit as e:
            return {"ran": self.ran, "exit": e.code}
        except Raised as e:
            return {"ran": self.ran, "raised": e.label}
        return {"ran": self.ran}
