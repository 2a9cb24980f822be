"""[BLD-6], [BLD-7] (and [BLD-4], [ES-8], [CS-6] beside them).

Builder.new_execution_state(working_dir=None) returns a new execution state
and leaves the builder unchanged. With no (or an empty) working directory it
asks the builder's file access for a fresh random local directory (created
on disk, different on every call, under that provider's sandbox); mode,
branch mode and user-space parameters are all None - unlike
ctx.new_execution_state(), which uses the sandbox directory itself and the
context's user-space parameters. A builder whose file access is not a
provider fails with AttributeError.

Builder.new_compilation_state(prefix="") returns CompilationState(prefix)
for any prefix: mode 1, no task resolver, an empty node list - unlike
ctx.new_compilation_state(prefix), whose resolver is flytekit's default task
resolver. Neither method attaches the state to the builder.
"""

import os

from _probe import check, expect_raises, finish, saw, section

from flytekit.core.context_manager import FlyteContext
from flytekit.core.context_manager import FlyteContextManager as M
from flytekit.core.data_persistence import default_local_file_access_provider as provider
from flytekit.core.python_auto_container import default_task_resolver

root = M.current_context()
sandbox = str(provider.local_sandbox_dir)

section("Builder.new_execution_state()")
b = root.new_builder()
before = b.execution_state
first, second = b.new_execution_state(), b.new_execution_state()
saw("working dirs", (first.working_dir, second.working_dir))
check(b.execution_state is before, "the builder's own execution state is unchanged")
check(first.working_dir != second.working_dir, "each call gets a different working directory")
check(all(str(e.working_dir).startswith(sandbox + os.sep) and os.path.isdir(e.working_dir) for e in (first, second)),
      "a new directory under the file access provider's sandbox, created on disk")
check(all(os.path.isdir(e.engine_dir) and e.engine_dir == os.path.join(e.working_dir, "engine_dir") for e in (first, second)),
      "its engine directory is <working dir>/engine_dir, created on disk")
check((first.mode, first.branch_eval_mode, first.user_space_params) == (None, None, None),
      "mode, branch mode and user-space parameters are None")
check(root.user_space_params is not None, "... although the context it came from has user-space parameters")
empty = b.new_execution_state("")
check(str(empty.working_dir).startswith(sandbox + os.sep), "an empty working dir also means a random directory")
given = b.new_execution_state("given-dir")
check(given.working_dir == "given-dir" and given.user_space_params is None, "a given working dir is used as is")

section("ctx.new_execution_state() for comparison")
from_ctx = root.new_execution_state()
check(str(from_ctx.working_dir) == sandbox and from_ctx.user_space_params is root.user_space_params,
      "the context method uses the sandbox directory itself and the context's user-space parameters")

section("a builder whose file access is not a provider")
odd = FlyteContext(file_access=object()).new_builder()
expect_raises(AttributeError, odd.new_execution_state, "new_execution_state() with no working dir fails with AttributeError")
check(odd.new_execution_state("x").working_dir == "x", "with a working dir it does not need the provider")

section("Builder.new_compilation_state(prefix)")
for prefix in ("", "p", "wf.n0"):
    cs = b.new_compilation_state(prefix)
    check((cs.prefix, cs.mode, cs.task_resolver, cs.nodes) == (prefix, 1, None, []),
          f"prefix {prefix!r}: that prefix, mode 1, no resolver, no nodes")
check(b.new_compilation_state().prefix == "", "the default prefix is ''")
check(b.compilation_state is None, "the builder's compilation state is unchanged")
ctx_cs = root.new_compilation_state("p")
check(ctx_cs.task_resolver is default_task_resolver, "ctx.new_compilation_state(p) instead carries the default task resolver")

finish()
