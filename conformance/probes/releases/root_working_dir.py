"""INIT-4, ES-8: the working directory of the root's execution state, and of
ctx.new_execution_state() without one, is a new random directory inside the
sandbox before 0.22, and the sandbox directory itself from 0.22 on."""
import os

from probe import FCM, check, since

root = FCM.current_context()
sandbox = str(root.file_access.local_sandbox_dir)
wd = str(root.execution_state.working_dir)
check("root working dir is the sandbox itself", wd.rstrip(os.sep) == sandbox.rstrip(os.sep), since(0, 22))
check("root working dir lies inside the sandbox", wd.startswith(sandbox), True)
es = root.new_execution_state()
check("new_execution_state() without a dir uses the sandbox itself",
      str(es.working_dir).rstrip(os.sep) == sandbox.rstrip(os.sep), since(0, 22))
# Before 0.22 each call makes another random directory.
check("two calls give the same directory", str(root.new_execution_state().working_dir) == str(es.working_dir), since(0, 22))
