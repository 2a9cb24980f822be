"""TASK-1, TASK-3, INIT-2: before 1.1 a task (a copy of the creator's context
variables) works on the one class-level stack, so initialize() in a task
replaces its creator's stack too; from 1.1 on it rebinds the task only."""
import contextvars

from probe import FCM, check, since

creator_root = FCM.current_context()
contextvars.copy_context().run(FCM.initialize)
check("initialize() in a task leaves the creator's root current",
      FCM.current_context() is creator_root, since(1, 1))
