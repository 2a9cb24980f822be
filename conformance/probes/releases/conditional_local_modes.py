"""COND-2, COND-3: which execution modes count as local when a conditional
section is entered. LOCAL_WORKFLOW_EXECUTION always does; LOCAL_TASK_EXECUTION
from 1.9 on (before, such a state is kept as it is, branch mode None);
EAGER_LOCAL_EXECUTION from its first release, 1.15; LOCAL_DYNAMIC_TASK_EXECUTION
from its first release, 1.16."""
from probe import FCM, check, since

ES = __import__("flytekit.core.context_manager", fromlist=["ExecutionState"]).ExecutionState
root = FCM.current_context()
expect_local = {
    "LOCAL_WORKFLOW_EXECUTION": True,
    "LOCAL_TASK_EXECUTION": since(1, 9),
    "TASK_EXECUTION": False,
    "EAGER_LOCAL_EXECUTION": True,
    "LOCAL_DYNAMIC_TASK_EXECUTION": True,
    "DYNAMIC_TASK_EXECUTION": False,
    "EAGER_EXECUTION": False,
}
for name, local in sorted(expect_local.items()):
    if name not in ES.Mode.__members__:
        continue
    es = ES(working_dir="w", mode=ES.Mode[name])
    b = root.new_builder().with_execution_state(es).enter_conditional_section()
    got = b.execution_state
    replaced = got is not es and got.branch_eval_mode is not None and got.branch_eval_mode.name == "BRANCH_SKIPPED"
    check("entering a conditional from %s marks the branch skipped" % name, replaced, local)
