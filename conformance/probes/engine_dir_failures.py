"""[ES-2], [COND-8] (and [ES-1], [COND-3], [COND-4]).

Every ExecutionState construction creates its engine directory on disk
(parents included, an existing directory is fine). That is the only disk
check: the working directory itself is never looked at. It fails with an
OSError subclass:
  - NotADirectoryError when a parent of the engine directory is a file
    (ExecutionState(working_dir=<a file>) with the derived engine dir);
  - FileExistsError when the engine directory itself is a file;
  (PermissionError and the like where the file system refuses.)
Every with_params() is a construction, so it creates the (kept) engine
directory again - re-creating it if it was removed - and fails the same way.
enter_conditional_section() constructs a state exactly when it replaces a
local-mode execution state: not yet in a condition ([COND-3]), or in one with
branch mode BRANCH_SKIPPED ([COND-4]). Then it can fail, and it fails after
it already replaced the builder's compilation state ([COND-1]): the builder
is left half-changed (new compilation state, old execution state, not in a
condition). It cannot fail where it keeps the state ([COND-5], [COND-6]).
"""

import os
import shutil

from _probe import SCRATCH, check, expect_raises, finish, section

from flytekit.core.context_manager import BranchEvalMode, CompilationState, ExecutionState
from flytekit.core.context_manager import FlyteContextManager as M

Mode = ExecutionState.Mode
a_file = os.path.join(SCRATCH, "a-file")
open(a_file, "w").close()

section("constructing an execution state")
expect_raises(NotADirectoryError, lambda: ExecutionState(working_dir=a_file),
              "working dir is a file, engine dir derived: NotADirectoryError")
es = ExecutionState(working_dir=a_file, engine_dir="elsewhere")
check(es.working_dir == a_file and os.path.isdir("elsewhere"), "working dir is a file but the engine dir is given: fine")
expect_raises(FileExistsError, lambda: ExecutionState(working_dir="wd", engine_dir=a_file),
              "the engine dir is a file: FileExistsError")
ExecutionState(working_dir="deep/down/wd")
check(os.path.isdir("deep/down/wd/engine_dir"), "missing parents are created (the working dir comes into being as a side effect)")


def make_local(name, mode=Mode.LOCAL_WORKFLOW_EXECUTION, branch=None):
    return ExecutionState(working_dir=name, mode=mode, branch_eval_mode=branch)


def spoil(es):
    """Replace the engine directory of es by a regular file."""
    shutil.rmtree(es.engine_dir)
    open(es.engine_dir, "w").close()


section("with_params() constructs again")
es = make_local("wp")
shutil.rmtree(es.engine_dir)
es.with_params()
check(os.path.isdir(es.engine_dir), "a removed engine dir is created again by with_params()")
spoil(es)
expect_raises(FileExistsError, es.with_params, "an engine dir that became a file makes with_params() fail")

section("enter_conditional_section() on a local-mode execution state whose engine dir is a file")
root = M.current_context()


def builder_for(es, in_a_condition):
    b = root.new_builder().with_execution_state(es).with_compilation_state(CompilationState(prefix="p"))
    b.in_a_condition = in_a_condition
    return b


cases = [
    ("not in a condition", Mode.LOCAL_WORKFLOW_EXECUTION, None, False, True),
    ("in a condition, BRANCH_SKIPPED", Mode.LOCAL_TASK_EXECUTION, BranchEvalMode.BRANCH_SKIPPED, True, True),
    ("in a condition, BRANCH_ACTIVE", Mode.EAGER_LOCAL_EXECUTION, BranchEvalMode.BRANCH_ACTIVE, True, False),
    ("in a condition, no branch mode", Mode.LOCAL_DYNAMIC_TASK_EXECUTION, None, True, False),
    ("non-local mode, not in a condition", Mode.TASK_EXECUTION, None, False, False),
    ("mode None, not in a condition", None, None, False, False),
]
for n, (label, mode, branch, in_cond, fails) in enumerate(cases):
    es = make_local(f"cond{n}", mode, branch)
    spoil(es)
    b = builder_for(es, in_cond)
    cs_before = b.compilation_state
    if fails:
        expect_raises(FileExistsError, b.enter_conditional_section, f"{label}: fails with FileExistsError")
        check(b.compilation_state is not cs_before and b.execution_state is es and b.in_a_condition is in_cond,
              f"{label}: the builder is left half-changed (new compilation state, old execution state, in_a_condition unchanged)")
    else:
        b.enter_conditional_section()
        check(b.execution_state is es and b.in_a_condition, f"{label}: keeps the state, nothing is created, no failure")

section("ctx.new_execution_state(working_dir)")
expect_raises(NotADirectoryError, lambda: root.new_execution_state(a_file), "ctx.new_execution_state(<a file>) fails the same way")

finish()
