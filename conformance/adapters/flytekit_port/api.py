"""What the installed flytekit offers, found by looking at its API rather than
at its version: the features of protocol 2 ([FEAT-1], [PROTO-2]), the
execution modes and builder steps it has ([REL-2]), and the objects answers
name ([OBS-5], [OBS-6])."""

import inspect
import os

import flytekit
from flytekit.core import context_manager as cm
from flytekit.core.context_manager import (
    BranchEvalMode,
    CompilationState,
    ExecutionState,
    FlyteContext,
    FlyteContextManager,
)
from flytekit.core.python_auto_container import default_task_resolver

from .errors import BadRequest, Unsupported


# Import initialized the stack ([INIT-1]); its root holds the default file-access
# provider ([OBS-5]), wherever this release defines it.
default_file_access = FlyteContextManager.current_context().file_access
SANDBOX = str(default_file_access.local_sandbox_dir)
# flytekit's own files: a frame in one of them is "library" ([OBS-7]).
LIBRARY_DIR = os.path.dirname(os.path.abspath(flytekit.__file__)) + os.sep
# The module whose file a reset's initialization is made to come from ([ORIG-3]).
CONTEXT_MANAGER_FILE = cm.__file__
# Where the stack lives: a ContextVar from 1.1 on, a list on the class before.
STACK_VAR = getattr(cm, "flyte_context_Var", None)
HAS_SIGNALS = hasattr(FlyteContextManager, "add_signal_handler") and hasattr(FlyteContextManager, "signal_handlers")


def _push_takes_an_origin():
    try:
        parameters = inspect.signature(FlyteContextManager.push_context).parameters
    except (TypeError, ValueError):
        return False
    return len(parameters) >= 2


# [ORIG-1], [ORIG-4]: origins are observable when the stack frame a push
# records can be given and get_origin_stackframe can be called.
HAS_ORIGINS = hasattr(FlyteContextManager, "get_origin_stackframe") and _push_takes_an_origin()

# Execution modes of spec [ES-3]; a release may have fewer ([REL-2]).
SPEC_MODES = (
    "TASK_EXECUTION", "LOCAL_WORKFLOW_EXECUTION", "LOCAL_TASK_EXECUTION", "DYNAMIC_TASK_EXECUTION",
    "EAGER_EXECUTION", "EAGER_LOCAL_EXECUTION", "LOCAL_DYNAMIC_TASK_EXECUTION",
)
SPEC_BRANCH_MODES = ("BRANCH_ACTIVE", "BRANCH_SKIPPED")
# Builder steps of [TRACE-3] that are builder methods of the same name.
BUILDER_STEPS = (
    "enter_conditional_section", "with_new_compilation_state", "with_execution_state",
    "with_compilation_state", "with_file_access", "with_client", "with_serialization_settings",
    "with_output_metadata_tracker", "with_worker_queue",
)
# The first step that starts from the context's own method instead of new_builder() ([BLD-5]).
CONTEXT_STEP = "context_with_new_compilation_state"
# The opaque fields of [OBS-2], with the builder step that sets each.
SLOTS = [
    ("file_access", "with_file_access"),
    ("flyte_client", "with_client"),
    ("serialization_settings", "with_serialization_settings"),
    ("output_metadata_tracker", "with_output_metadata_tracker"),
    ("worker_queue", "with_worker_queue"),
]


def features():
    """The features of protocol 2 this flytekit provides, found in its API."""
    builder = FlyteContext.Builder
    found = ["stack"]
    if hasattr(FlyteContextManager, "with_context"):
        found.append("with")
    if hasattr(FlyteContext, "new_builder") and hasattr(builder, "build"):
        found.append("builders")
    if hasattr(builder, "enter_conditional_section"):
        found.append("conditionals")
    if all(hasattr(ExecutionState, m) for m in ("with_params", "take_branch", "branch_complete")):
        found.append("execution_states")
    if all(hasattr(CompilationState, m) for m in ("with_params", "add_node")):
        found.append("compilation_states")
    found += ["threads", "tasks"]  # Python's own; how flytekit shares stacks is the release's behaviour
    if HAS_SIGNALS:
        found.append("signals")
    if HAS_ORIGINS:
        found.append("origins")
    return found


def release():
    return str(getattr(flytekit, "__version__", "unknown"))


def _enum_member(enum, name, known):
    if name is None:
        return None
    try:
        return enum[name]
    except KeyError:
        if name in known:
            raise Unsupported("this flytekit has no %s %s" % (enum.__name__, name))
        raise BadRequest("unknown %s %r" % (enum.__name__, name))


def mode(name):
    return _enum_member(ExecutionState.Mode, name, SPEC_MODES)


def branch(name):
    return _enum_member(BranchEvalMode, name, SPEC_BRANCH_MODES)


def is_library_file(filename):
    return os.path.abspath(filename).startswith(LIBRARY_DIR)

