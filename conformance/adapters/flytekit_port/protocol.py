"""The port protocol: hello and the request loop ([PROTO-1]..[PROTO-5])."""

import json
import os
import sys
import traceback

from . import api
from .errors import error_kind
from .port import Port

PROTOCOL = "flytectx-port"
NEWEST_VERSION = 2


def hello_answer(hello):
    """[PROTO-2]: the answer to the runner's hello, or None when it is not one.

    Version 2 when the runner offers it (`newest_version` >= 2): it names the
    features this flytekit provides and the release. Otherwise version 1,
    which claims every feature of the reference release."""
    if hello.get("protocol") != PROTOCOL:
        return None
    lowest = hello.get("version")
    newest = hello.get("newest_version", lowest)
    if not isinstance(lowest, int) or not isinstance(newest, int) or not lowest <= 1 <= newest:
        return None
    if hello.get("profile") != "compat":
        return {"err": "unsupported_profile"}
    version = min(newest, NEWEST_VERSION)
    answer = {"protocol": PROTOCOL, "version": version,
              "name": "flytekit %s (python %s)" % (api.release(), sys.version.split()[0]),
              "profiles": ["compat"]}
    if version >= 2:
        answer["features"] = api.features()
        answer["release"] = api.release()
    return {"hello": answer}


def main(scratch):
    # flytekit's SIGINT hook calls the `exit` builtin, which closes sys.stdin
    # before raising SystemExit: read requests from a duplicate.
    requests = os.fdopen(os.dup(sys.stdin.fileno()), "r", encoding="utf-8")
    out = sys.stdout
    port = None
    try:
        for line in requests:
            line = line.rstrip("\n")
            if port is None:
                try:
                    hello = json.loads(line)["hello"]
                    answer = hello_answer(hello) if isinstance(hello, dict) else None
                except Exception:
                    answer = None
                if answer is None:
                    print("bad hello: " + line, file=sys.stderr)
                    answer = {"err": "bad_request"}
                elif "hello" in answer:
                    port = Port(scratch)
            else:
                req = {}
                try:
                    req = json.loads(line)
                    answer = {"ok": port.answer(req)}
                except Exception as e:
                    kind = error_kind(e, req.get("op") if isinstance(req, dict) else None)
                    if kind == "bad_request" or kind.startswith("unexpected_"):
                        traceback.print_exc(file=sys.stderr)
                    answer = {"err": kind}
            out.write(json.dumps(answer, separators=(",", ":")) + "\n")
            out.flush()
    finally:
        scratch.remove()
