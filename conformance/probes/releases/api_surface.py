"""What a release simply lacks: execution modes, builder steps, context
fields and the signal-handler API, each with the first release that has it.
The adapter finds these by looking (conformance/adapters/flytekit.py); this
probe pins the release each one arrived in."""
from flytekit.core.context_manager import ExecutionState, FlyteContext

from probe import FCM, check, since

first = {
    # execution modes ([ES-3])
    "mode TASK_EXECUTION": (0, 19),
    "mode LOCAL_WORKFLOW_EXECUTION": (0, 19),
    "mode LOCAL_TASK_EXECUTION": (0, 19),
    "mode DYNAMIC_TASK_EXECUTION": (1, 10),
    "mode EAGER_EXECUTION": (1, 15),
    "mode EAGER_LOCAL_EXECUTION": (1, 15),
    "mode LOCAL_DYNAMIC_TASK_EXECUTION": (1, 16),
    # builder steps ([BLD-3], [BLD-4], [TRACE-3])
    "step enter_conditional_section": (0, 19),
    "step with_new_compilation_state": (0, 19),
    "step with_execution_state": (0, 19),
    "step with_compilation_state": (0, 19),
    "step with_file_access": (0, 19),
    "step with_serialization_settings": (0, 19),
    "step with_output_metadata_tracker": (1, 11),
    "step with_client": (1, 15),
    "step with_worker_queue": (1, 15),
    # context fields ([CTX-1], [OBS-2])
    "field flyte_client": (0, 19),
    "field serialization_settings": (0, 19),
    "field output_metadata_tracker": (1, 11),
    "field worker_queue": (1, 15),
    # signal handlers ([SIG-1])
    "FlyteContextManager.add_signal_handler": (1, 15),
    "FlyteContextManager.signal_handlers": (1, 15),
}
root = FCM.current_context()
for what, release in sorted(first.items()):
    kind, _, name = what.partition(" ")
    if kind == "mode":
        present = name in ExecutionState.Mode.__members__
    elif kind == "step":
        present = hasattr(FlyteContext.Builder, name)
    elif kind == "field":
        present = hasattr(root, name)
    else:
        present = hasattr(FCM, what.split(".")[1])
    check("has " + what, present, since(*release))
