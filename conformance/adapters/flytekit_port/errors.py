"""Errors and their kinds in answers ([OBS-1])."""

import json


class Raised(Exception):
    """An error a trace raises itself: at the end of a `with` body ([RUN-2]),
    or in a signal handler ([SIG-2])."""

    def __init__(self, label):
        super().__init__(label)
        self.label = label


class BadRequest(Exception):
    """A request no runner sends ([PORT-2])."""


class Unsupported(Exception):
    """The installed flytekit has no API for what was asked ([FEAT-3])."""


# [ES-2]: making an engine directory fails with an OSError (NotADirectoryError
# or FileExistsError through a file, PermissionError where access is refused).
_ENGINE_DIR = {OSError: "engine_dir_failed"}
# [ES-8], [BLD-6]: a file access that is not a provider has no sandbox
# directory; flytekit's ExecutionParameters answers unknown attributes with
# AssertionError.
_NO_SANDBOX = {AttributeError: "no_sandbox_dir", AssertionError: "no_sandbox_dir"}

# Which flytekit exception means which error kind, per operation. An
# operation whose builder steps include a conditional section can fail
# making the copy of an execution state ([COND-8]).
ERRORS = {
    "pop": {AssertionError: "popped_root", IndexError: "empty_stack"},  # [POP-2], [POP-3]
    "with_exit": {AssertionError: "popped_root"},  # [WITH-4]
    "new_es": {ValueError: "invalid_working_dir", **_ENGINE_DIR},  # [ES-1], [ES-2]
    "es_with_params": _ENGINE_DIR,
    "ctx_new_es": {**_NO_SANDBOX, **_ENGINE_DIR},
    "builder_new_es": {**_NO_SANDBOX, **_ENGINE_DIR},
    "build": _ENGINE_DIR,
    "with_enter": _ENGINE_DIR,
    "builder_new_cs": _ENGINE_DIR,
    "make_file": {ValueError: "bad_request"},
}


def error_kind(e, op):
    if isinstance(e, Raised):
        return e.label
    if isinstance(e, Unsupported):
        return "unsupported"
    for exc_type, kind in ERRORS.get(op, {}).items():
        if isinstance(e, exc_type):
            return kind
    if isinstance(e, (BadRequest, KeyError, TypeError, json.JSONDecodeError)):
        return "bad_request"
    return "unexpected_" + type(e).__name__
