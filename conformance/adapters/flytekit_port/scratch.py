"""The port's scratch directory ([ES-2], [TRACE-2] `reset` and `make_file`).

Directory names a trace gives are relative, so the scratch directory is the
process's current directory: an execution state whose working directory is
"w" makes "w/engine_dir" there. Each `reset` starts a new process, which
must not see the directories and files of the trace before: it gets a new
scratch directory, and the old one is removed.
"""

import os
import shutil
import tempfile


class Scratch:
    def __init__(self):
        self.path = None
        self.renew()

    def renew(self):
        old = self.path
        self.path = tempfile.mkdtemp(prefix="flytectx-flytekit-port-")
        os.chdir(self.path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def make_file(self, name):
        """A file called `name`, replacing whatever is there (a directory
        with its contents, or a file)."""
        if not name or "/" in name or name in (".", ".."):
            raise ValueError("not a directory name of a trace: %r" % (name,))
        path = os.path.join(self.path, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)
        with open(path, "w"):
            pass

    def remove(self):
        os.chdir(os.path.dirname(self.path))
        shutil.rmtree(self.path, ignore_errors=True)
