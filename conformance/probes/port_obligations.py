"""Facts behind the port-obligation questions of [ES-4], [CS-3], [ES-8] and
[BLD-5] (what a trace can pass, and what flytekit makes of it).

"Falsy", for each value a trace can pass to the with_params methods:
  ExecutionState.with_params: null and "" are falsy (keep the old value);
    every other string ("0", " " included) is taken; every mode and branch
    mode name is taken (enum members are truthy); every opaque value a trace
    can name is truthy, flytekit's own objects included, so it is taken.
  CompilationState.with_params: prefix null and "" both give "" (the old
    prefix is never kept); mode null and 0 keep the old mode, any other
    integer (negative ones included) is taken; resolver null keeps, any
    opaque value is taken; nodes: null or an empty list give a new empty
    list, a non-empty list is shared.
  The constructors have no falsy rule: CompilationState keeps mode 0 or -1;
  ExecutionState rejects only an empty working dir (ValueError) and derives
  the engine dir from null or "".

[ES-8]: ctx.new_execution_state() with no working dir reads
file_access.local_sandbox_dir. Only file-access providers have one; of the
values a trace can name that is `default_file_access` alone. None and plain
opaque objects raise AttributeError; flytekit's ExecutionParameters (the
root's user-space parameters, `o0` in a trace) raises AssertionError through
its attribute hook.

[BLD-5]: FlyteContext has a with_new_compilation_state() method in 1.16.10. It
returns a builder (ctx.new_builder()) holding a fresh
ctx.new_compilation_state("") - default task resolver - while the builder
method of the same name gives a state with no resolver. flytekit's own
test_levels uses the context method.
"""

from _probe import check, expect_raises, finish, saw, section

from flytekit.core.context_manager import BranchEvalMode, CompilationState, ExecutionState, FlyteContext
from flytekit.core.context_manager import FlyteContextManager as M
from flytekit.core.data_persistence import FileAccessProvider, default_local_file_access_provider
from flytekit.core.python_auto_container import default_task_resolver

root = M.current_context()
o0 = root.user_space_params


class Opaque:
    pass


section("ExecutionState.with_params: which values keep the old one")
es = ExecutionState("wd", mode=ExecutionState.Mode.TASK_EXECUTION, engine_dir="ed",
                    branch_eval_mode=BranchEvalMode.BRANCH_ACTIVE, user_space_params=Opaque())
for value, kept in ((None, True), ("", True), ("0", False), (" ", False), ("x", False)):
    got = es.with_params(working_dir=value)
    check((got.working_dir == "wd") is kept, f"working_dir {value!r}: {'keeps' if kept else 'is taken'}")
    got = es.with_params(engine_dir=value)
    check((got.engine_dir == "ed") is kept, f"engine_dir {value!r}: {'keeps' if kept else 'is taken'}")
check(all(es.with_params(mode=m).mode is m for m in ExecutionState.Mode), "every mode name is taken")
check(es.with_params(mode=None).mode is es.mode, "mode null keeps")
check(all(es.with_params(branch_eval_mode=m).branch_eval_mode is m for m in BranchEvalMode), "every branch mode is taken")
check(es.with_params(branch_eval_mode=None).branch_eval_mode is es.branch_eval_mode, "branch mode null keeps")
nameable = {"a new opaque": Opaque(), "default_file_access": default_local_file_access_provider,
            "default_task_resolver": default_task_resolver, "o0 (ExecutionParameters)": o0}
for name, obj in nameable.items():
    check(es.with_params(user_space_params=obj).user_space_params is obj, f"user_space_params {name}: truthy, taken")
check(es.with_params(user_space_params=None).user_space_params is es.user_space_params, "user_space_params null keeps")

section("CompilationState.with_params: which values keep the old one")
resolver = Opaque()
cs = CompilationState(prefix="old", mode=5, task_resolver=resolver)
for value, expected in ((None, ""), ("", ""), ("new", "new")):
    check(cs.with_params(value).prefix == expected, f"prefix {value!r} gives {expected!r}")
for value, expected in ((None, 5), (0, 5), (-1, -1), (1, 1), (2**62, 2**62)):
    check(cs.with_params("p", mode=value).mode == expected, f"mode {value!r} gives {expected!r}")
check(cs.with_params("p", resolver=None).task_resolver is resolver, "resolver null keeps")
for name, obj in nameable.items():
    check(cs.with_params("p", resolver=obj).task_resolver is obj, f"resolver {name}: truthy, taken")
nodes = ["n"]
check(cs.with_params("p", nodes=nodes).nodes is nodes, "a non-empty node list is shared")
empty = []
check(cs.with_params("p", nodes=empty).nodes is not empty, "an empty node list is not shared")
check(cs.with_params("p").nodes == [] and cs.with_params("p").nodes is not cs.nodes, "nodes null: a new empty list")

section("constructors have no falsy rule")
check(CompilationState("p", mode=0).mode == 0 and CompilationState("p", mode=-1).mode == -1, "CompilationState keeps mode 0 and -1")
expect_raises(ValueError, lambda: ExecutionState(""), "ExecutionState('') raises ValueError")
check(ExecutionState("wd3", engine_dir="").engine_dir == "wd3/engine_dir", "engine_dir '' is derived from the working dir")

section("[ES-8]: which file access has a local sandbox dir")
sandbox = default_local_file_access_provider.local_sandbox_dir
check(root.new_execution_state().working_dir == sandbox, "default_file_access: its sandbox dir")
own = FileAccessProvider(local_sandbox_dir="own-sandbox", raw_output_prefix="raw")
check(FlyteContext(file_access=own).new_execution_state("").working_dir == own.local_sandbox_dir,
      "any FileAccessProvider the program makes: its own sandbox dir (empty working dir too)")
for name, obj, exc in (("None", None, AttributeError), ("a plain opaque", Opaque(), AttributeError),
                       ("default_task_resolver", default_task_resolver, AttributeError),
                       ("o0 (ExecutionParameters)", o0, AssertionError)):
    expect_raises(exc, FlyteContext(file_access=obj).new_execution_state, f"file access {name}: {exc.__name__}")
check(FlyteContext(file_access=None).new_execution_state("given").working_dir == "given",
      "with a working dir given, the file access is not consulted")

section("[BLD-5]: FlyteContext.with_new_compilation_state()")
check(callable(getattr(FlyteContext, "with_new_compilation_state", None)), "the context method exists")
b = root.with_new_compilation_state()
saw("it returns", type(b).__qualname__)
check(isinstance(b, FlyteContext.Builder) and b.level == root.level, "it returns a builder at the context's level")
check((b.compilation_state.prefix, b.compilation_state.mode, b.compilation_state.task_resolver) == ("", 1, default_task_resolver),
      "its compilation state: prefix '', mode 1, the default task resolver")
check(root.with_new_compilation_state().compilation_state is not b.compilation_state, "a new state on every call")
builder_method = root.new_builder().with_new_compilation_state()
check(builder_method.compilation_state.task_resolver is None, "the builder method of the same name gives no resolver")
check(root.compilation_state is None, "the context itself is unchanged")

finish()
