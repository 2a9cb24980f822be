"""Execution units: the main thread, threads and tasks ([TRACE-5], [PORT-6]).

Each unit runs the operations of its bracket with `run(fn)` and keeps the
`with` scopes it has open, innermost last."""

import contextvars
import queue
import threading


class MainUnit:
    def __init__(self):
        self.scopes = []

    def run(self, fn):
        return fn()

    def end(self):
        pass


class ThreadUnit:
    """A real thread, fed one operation at a time. A new Python thread starts
    with empty context variables ([THR-2])."""

    def __init__(self):
        self.scopes = []
        self.requests = queue.Queue()
        self.results = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            fn = self.requests.get()
            if fn is None:
                return
            try:
                self.results.put((True, fn()))
            except BaseException as e:  # handed back to the dispatcher
                self.results.put((False, e))
            fn = None  # hold nothing of an operation once it is answered

    def run(self, fn):
        self.requests.put(fn)
        ok, value = self.results.get()
        if ok:
            return value
        raise value

    def end(self):
        self.requests.put(None)
        self.thread.join()


class TaskUnit:
    """A task: runs on its creator's thread in its own copy of the creator's
    context variables, as asyncio.create_task makes it ([TASK-1])."""

    def __init__(self, creator):
        self.scopes = []
        self.creator = creator
        self.context = creator.run(contextvars.copy_context)

    def run(self, fn):
        return self.creator.run(lambda: self.context.run(fn))

    def end(self):
        pass
