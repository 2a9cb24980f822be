#!/usr/bin/env python3
"""A minimal port: the stack core and `with` scopes, nothing else.

It shows what a partial port needs (spec.md sections 12-14, [FEAT-3]): a
version-2 hello that lists its features, one answer line per request, and
`{"err": "unsupported"}` for what it does not implement. It runs every
operation on one thread, so it implements both profiles alike.

Usage: minimal.py [--declare FEATURE ...]
  --declare F   also declare feature F without implementing it (the runner
                must then fail the port on F)
"""
import json
import sys

extra = [a for i, a in enumerate(sys.argv) if i > 0 and sys.argv[i - 1] == "--declare"]
FEATURES = ["stack", "with"] + extra


class Unsupported(Exception):
    pass


class Failure(Exception):
    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


class Port:
    def __init__(self):
        self.names = {}      # id(obj) -> name  ([OBS-4])
        self.objects = {}    # name -> obj
        self.counts = {"c": 0, "es": 0, "o": 0}
        self.marks = []      # the marks of open with scopes ([WITH-1])
        self.stack = []
        self.initialize()    # [INIT-1]

    def name(self, prefix, obj):
        if id(obj) not in self.names:
            n = f"{prefix}{self.counts[prefix]}"
            self.counts[prefix] += 1
            self.names[id(obj)] = n
            self.objects[n] = obj
        return self.names[id(obj)]

    def initialize(self):  # [INIT-2]..[INIT-4]
        es = {"mode": None, "branch_eval_mode": None, "working_dir": "<sandbox>",
              "engine_dir": "<sandbox>/engine_dir", "user_space_params": object()}
        root = {"level": 1, "es": es, "file_access": "default_file_access"}
        self.stack = [root]

    def summary(self, c):  # [OBS-2], naming in field order ([OBS-4])
        out = {"id": self.name("c", c), "level": c["level"], "in_a_condition": False,
               "compilation_state": None, "execution_state": None}
        out["execution_state"] = self.es_summary(c["es"])
        out["file_access"] = c["file_access"]
        for field in ("flyte_client", "serialization_settings", "output_metadata_tracker", "worker_queue"):
            out[field] = None
        return out

    def es_summary(self, es):  # [OBS-3]
        return {"id": self.name("es", es), "mode": es["mode"], "branch_eval_mode": es["branch_eval_mode"],
                "working_dir": es["working_dir"], "engine_dir": es["engine_dir"],
                "user_space_params": self.name("o", es["user_space_params"])}

    def pop(self):  # [POP-1]..[POP-3]
        if not self.stack:
            raise Failure("empty_stack")
        c = self.stack.pop()
        if not self.stack:
            raise Failure("popped_root")
        return c

    def build(self, req):  # [BLD-1], [BLD-2]: no builder steps here
        if req["steps"]:
            raise Unsupported()
        c = self.objects[req["from"]]
        return dict(c, level=c["level"] + 1)

    def answer(self, req):
        op = req["op"]
        if op == "initialize":
            return self.initialize()
        if op == "size":
            return len(self.stack)
        if op == "current":  # [CUR-2]
            if not self.stack:
                self.initialize()
            return self.summary(self.stack[-1])
        if op == "push":
            c = self.objects[req["ctx"]]
            self.stack.append(c)
            return self.summary(c)
        if op == "pop":
            return self.summary(self.pop())
        if op == "build":
            return self.summary(self.build(req))
        if op == "observe":
            ref = req["ref"]
            if ref.startswith("es"):
                return self.es_summary(self.objects[ref])
            return self.summary(self.objects[ref]) if ref.startswith("c") else ref
        if op == "with_enter":  # [WITH-1]
            c = self.build(req)
            self.stack.append(c)
            self.marks.append(len(self.stack))
            return self.summary(c)
        if op in ("with_exit", "with_drop"):  # [WITH-2]..[WITH-4], [WITH-8]
            mark = self.marks.pop()
            try:
                while len(self.stack) >= mark:
                    self.pop()
            except Failure:
                if op == "with_exit":
                    raise
                return None  # a dropped scope's cleanup error reaches no one
            if req.get("raise") is not None:
                raise Failure(req["raise"])
            return None
        raise Unsupported()


def main():
    port = None
    for line in sys.stdin:
        req = json.loads(line)
        if "hello" in req:  # [PROTO-2], version 2 ([FEAT-3])
            answer = {"hello": {"protocol": "flytectx-port", "version": 2, "name": "minimal.py",
                                "profiles": ["compat", "isolated"], "features": FEATURES}}
        elif req.get("op") == "reset":
            port = Port()
            answer = {"ok": None}
        else:
            try:
                answer = {"ok": port.answer(req)}
            except Failure as f:
                answer = {"err": f.kind}
            except Unsupported:
                answer = {"err": "unsupported"}
            except KeyError:  # a name no answer of this port gave
                answer = {"err": "bad_request"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
