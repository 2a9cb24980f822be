"""[BLD-8], [CUR-3], [COND-2], and [BLD-2] as `test_levels` shows it: what flytekit's own unit tests of the context manager
(tests/flytekit/unit/core/test_context_manager.py at tag v1.16.10) rely on.

  - builder fields are plain attributes: assigning `b.flyte_client = x` (or
    any other field, level included) is the same as the with_* method;
  - FlyteContext.current_context() is FlyteContextManager.current_context():
    the same object, and it initializes lazily the same way;
  - ExecutionState.is_local_execution() is public and true exactly for the
    four local modes;
  - test_levels, replayed here step by step in our own code: a client set by
    assignment on the root's builder (1), a nested scope with another client
    (2), then a scope built from the *outer* context's
    with_new_compilation_state() (the context method, [BLD-5]) shows client 1
    again. It asserts only the clients 1/2/1; the levels it reaches are
    2, 3, 3 (the last scope derives from the outer context, not the inner),
    and the stack sizes are 2, 3, 3.
"""

from _probe import check, finish, saw, section

from flytekit.core.context_manager import ExecutionState, FlyteContext
from flytekit.core.context_manager import FlyteContextManager as M
from flytekit.core.python_auto_container import default_task_resolver


class Client:
    def __init__(self, value):
        self.value = value


section("builder fields assigned directly")
root = M.current_context()
b = root.new_builder()
b.flyte_client = Client(1)
b.level = 10
b.in_a_condition = True
built = b.build()
check(built.flyte_client is b.flyte_client and built.level == 11 and built.in_a_condition is True,
      "assigned fields (client, level, in_a_condition) are what build() uses")

section("FlyteContext.current_context()")
check(FlyteContext.current_context() is M.current_context(), "it returns the same object as FlyteContextManager.current_context()")
try:
    M.pop_context()
except AssertionError:
    pass
lazily = FlyteContext.current_context()
check(M.size() == 1 and lazily.level == 1, "on an empty stack it initializes lazily, like the manager's")
check(lazily.file_access is not None, "flytekit's test_default: the root has a file access")

section("ExecutionState.is_local_execution()")
local = {"LOCAL_WORKFLOW_EXECUTION", "LOCAL_TASK_EXECUTION", "EAGER_LOCAL_EXECUTION", "LOCAL_DYNAMIC_TASK_EXECUTION"}
answers = {m.name: ExecutionState("wd", mode=m).is_local_execution() for m in ExecutionState.Mode}
answers[None] = ExecutionState("wd").is_local_execution()
saw("is_local_execution per mode", answers)
check(all(answers[m] == (m in local) for m in answers), "true exactly for the four local modes (not for None)")

section("test_levels, replayed")
root = M.current_context()
b = root.new_builder()
b.flyte_client = Client(1)
seen = []
with M.with_context(b) as outer:
    seen.append(("outer", outer.flyte_client.value, outer.level, M.size()))
    inner_builder = outer.new_builder()
    inner_builder.flyte_client = Client(2)
    with M.with_context(inner_builder) as inner:
        seen.append(("inner", inner.flyte_client.value, inner.level, M.size()))
    with M.with_context(outer.with_new_compilation_state()) as third:
        seen.append(("third", third.flyte_client.value, third.level, M.size()))
        third_cs = third.compilation_state
saw("(scope, client, level, size)", seen)
check([s[1] for s in seen] == [1, 2, 1], "the clients are 1, 2, 1 (what the test asserts)")
check([s[2] for s in seen] == [2, 3, 3], "the levels are 2, 3, 3 (not asserted by the test)")
check([s[3] for s in seen] == [2, 3, 3], "the stack sizes are 2, 3, 3")
check(third_cs is not None and (third_cs.prefix, third_cs.mode, third_cs.task_resolver) == ("", 1, default_task_resolver),
      "the third scope's compilation state comes from ctx.new_compilation_state(''): the default task resolver ([BLD-5])")
check(M.size() == 1, "all scopes closed")

finish()
