"""CS-6, BLD-5: ctx.new_compilation_state() (and so ctx.with_new_compilation_state())
sets the default task resolver from 1.14 on; before 1.14 it sets none, like the
builder's with_new_compilation_state() still does."""
from flytekit.core.python_auto_container import default_task_resolver

from probe import FCM, check, since

root = FCM.current_context()
check("ctx.new_compilation_state() has the default task resolver",
      root.new_compilation_state("p").task_resolver is default_task_resolver, since(1, 14))
check("builder.with_new_compilation_state() has no resolver",
      root.new_builder().with_new_compilation_state().compilation_state.task_resolver, None)
