"""BLD-6: a builder's new_execution_state() without a working directory makes
a new random directory inside the sandbox, whose name ends with a path
separator before 0.22 (the old file-access module's random directories) and
does not from 0.22 on; its engine directory is `engine_dir` inside it."""
import os

from probe import FCM, check, since

root = FCM.current_context()
sandbox = str(root.file_access.local_sandbox_dir).rstrip(os.sep)
es = root.new_builder().new_execution_state()
wd = str(es.working_dir)
check("the directory lies directly inside the sandbox",
      os.path.dirname(wd.rstrip(os.sep)) == sandbox, True)
check("its name ends with a separator", wd.endswith(os.sep), not since(0, 22))
check("its engine directory is engine_dir inside it",
      str(es.engine_dir) == os.path.join(wd, "engine_dir"), True)
check("it was made on disk", os.path.isdir(wd), True)
