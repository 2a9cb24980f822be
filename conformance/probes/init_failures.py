"""[INIT-5], [CUR-2].

initialize() can fail, with whatever exception the failing step raises, and
the stack is then left exactly as it was (the new root is only set at the
very end). The failing steps, in the order initialize() runs them:
  1. configuration: reading the configuration (environment, a config file,
     including a `flytekit.config` in the working directory) and creating the
     `user_space` directory under the configured local sandbox path; the
     environment is read on every initialize(), the config file is looked up
     once per process;
  2. installing the SIGINT hook: ValueError off the main thread when the
     thread carries the main thread's name (see init_threads.py);
  3. creating the root's execution state, whose engine directory
     (`<sandbox>/engine_dir`) is created on disk.
A failure in step 3 comes *after* the SIGINT hook was installed, so the
program's handler is replaced although initialize() failed.
current_context() on an empty stack raises the same error, leaves the stack
empty, and retries (and fails again) on every call until the cause is gone.
"""

import os
import shutil
import signal

from _probe import SCRATCH, check, expect_raises, finish, run_fresh, saw, section

section("a bad `flytekit.config` in the working directory fails the import-time initialize (fresh interpreter)")
with open(os.path.join(SCRATCH, "flytekit.config"), "w") as f:
    f.write("[platform]\ninsecure = maybe\n")
status, out, err = run_fresh("import flytekit.core.context_manager")
os.remove(os.path.join(SCRATCH, "flytekit.config"))
tail = [line for line in err.splitlines() if line.strip()]
saw("last lines of the traceback", tail[-1:])
check(status != 0 and tail and tail[-1].startswith("ValueError"), "the import fails with ValueError")
check(any("in initialize" in line for line in tail), "... raised inside initialize()")

# From here on, in this process.
from flytekit.core.context_manager import FlyteContextManager as M  # noqa: E402
from flytekit.core.data_persistence import default_local_file_access_provider  # noqa: E402


def program_handler(signum, frame):
    pass


a_file = os.path.join(SCRATCH, "a-file")
open(a_file, "w").close()

section("configuration: the local sandbox path names a file")
M.push_context(M.current_context().new_builder().build())
top = M.current_context()
signal.signal(signal.SIGINT, program_handler)
os.environ["FLYTE_SDK_LOCAL_SANDBOX"] = a_file
expect_raises(NotADirectoryError, M.initialize, "initialize() fails with NotADirectoryError (user_space under a file)")
check(M.size() == 2 and M.current_context() is top, "the stack is unchanged: size 2, same top")
check(signal.getsignal(signal.SIGINT) is program_handler, "this failure comes before the SIGINT hook: the program's handler stays")

section("... and current_context() on an empty stack")
M.pop_context()
try:
    M.pop_context()
except AssertionError:
    pass
check(M.size() == 0, "stack emptied")
expect_raises(NotADirectoryError, M.current_context, "current_context() raises the initialize() error")
check(M.size() == 0, "the stack stays empty")
expect_raises(NotADirectoryError, M.current_context, "the next current_context() tries again and fails again")
del os.environ["FLYTE_SDK_LOCAL_SANDBOX"]
root = M.current_context()
check(M.size() == 1 and root.level == 1, "once the cause is gone, current_context() initializes")

section("the configuration file is looked up once per process")
with open(os.path.join(SCRATCH, "flytekit.config"), "w") as f:
    f.write("[platform]\ninsecure = maybe\n")
M.initialize()
check(M.size() == 1, "a bad flytekit.config that appears after the first lookup is never read (environment variables are)")
os.remove(os.path.join(SCRATCH, "flytekit.config"))
root = M.current_context()

section("the engine directory of the root cannot be created")
engine_dir = os.path.join(default_local_file_access_provider.local_sandbox_dir, "engine_dir")
shutil.rmtree(engine_dir)
open(engine_dir, "w").close()
signal.signal(signal.SIGINT, program_handler)
expect_raises(FileExistsError, M.initialize, "initialize() fails with FileExistsError (<sandbox>/engine_dir is a file)")
check(M.size() == 1 and M.current_context() is root, "the stack is unchanged")
installed = signal.getsignal(signal.SIGINT)
saw("SIGINT handler after the failed initialize()", getattr(installed, "__qualname__", installed))
check(installed is not program_handler and installed.__qualname__.endswith("main_signal_handler"),
      "the SIGINT hook was installed before the failure: the program's handler is gone")
os.remove(engine_dir)
M.initialize()
check(os.path.isdir(engine_dir), "initialize() re-creates <sandbox>/engine_dir when it is missing")

finish()
