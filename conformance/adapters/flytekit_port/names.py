"""Naming objects in first-observation order ([OBS-4]) and summarizing them
([OBS-2], [OBS-3], [OBS-5], [OBS-6]); reading names in requests ([TRACE-4])."""

from .api import SANDBOX, SLOTS, BadRequest, default_file_access, default_task_resolver


class Opaque:
    """A value flytekit only carries along ([CTX-1])."""


class Numbering:
    """First-observation numbering of one kind of object ([OBS-4])."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.objects = []  # holding them keeps their id() unique
        self.by_id = {}

    def name(self, obj):
        n = self.by_id.get(id(obj))
        if n is None:
            n = len(self.objects)
            self.objects.append(obj)
            self.by_id[id(obj)] = n
        return "%s%d" % (self.prefix, n)

    def get(self, name):
        digits = name[len(self.prefix):] if name.startswith(self.prefix) else ""
        if not digits.isdigit() or int(digits) >= len(self.objects):
            raise BadRequest("unknown name %r" % (name,))
        return self.objects[int(digits)]


def report_dir(path):
    """[OBS-6]: the default provider's sandbox reads `<sandbox>` and its
    `engine_dir` `<sandbox>/engine_dir`; any other directory in the sandbox
    was made with a random name ([BLD-6], and [INIT-4], [ES-8] before 0.22)
    and reads `<sandbox>/<random>` followed by what comes after that name,
    a trailing slash included. Directories outside the sandbox read as given."""
    p = str(path)
    if not p.startswith(SANDBOX):
        return p
    rest = p[len(SANDBOX):]
    if not rest.startswith("/"):
        return "<sandbox>" if rest == "" else p
    inside = rest[1:]
    first, slash, after = inside.partition("/")
    if first == "engine_dir":
        return "<sandbox>/" + inside
    return "<sandbox>/<random>" + slash + after


class Names:
    def __init__(self):
        self.ctx = Numbering("c")
        self.es = Numbering("es")
        self.cs = Numbering("cs")
        self.opaque = Numbering("o")

    # ----- answers ([OBS-2], [OBS-3], [OBS-5], [OBS-6]) -----

    def opaque_name(self, o):
        if o is None:
            return None
        if o is default_file_access:
            return "default_file_access"
        if o is default_task_resolver:
            return "default_task_resolver"
        return self.opaque.name(o)

    def context(self, c):
        out = {"id": self.ctx.name(c), "level": c.level, "in_a_condition": c.in_a_condition}
        out["compilation_state"] = None if c.compilation_state is None else self.compilation_state(c.compilation_state)
        out["execution_state"] = None if c.execution_state is None else self.execution_state(c.execution_state)
        for field, _ in SLOTS:
            # A field this release's FlyteContext does not have reads null.
            out[field] = self.opaque_name(getattr(c, field, None))
        return out

    def execution_state(self, e):
        out = {"id": self.es.name(e)}
        out["mode"] = None if e.mode is None else e.mode.name
        out["branch_eval_mode"] = None if e.branch_eval_mode is None else e.branch_eval_mode.name
        out["working_dir"] = report_dir(e.working_dir)
        out["engine_dir"] = report_dir(e.engine_dir)
        out["user_space_params"] = self.opaque_name(e.user_space_params)
        return out

    def compilation_state(self, s):
        out = {"id": self.cs.name(s), "prefix": s.prefix, "mode": s.mode}
        out["task_resolver"] = self.opaque_name(s.task_resolver)
        out["nodes"] = len(s.nodes)
        return out

    def any_object(self, name):
        """[OBS-2], [OBS-3]: the summary of any named object (`observe`)."""
        if name.startswith("cs"):
            return self.compilation_state(self.cs.get(name))
        if name.startswith("c"):
            return self.context(self.ctx.get(name))
        if name.startswith("es"):
            return self.execution_state(self.es.get(name))
        return self.opaque_name(self.opaque_ref(name))

    # ----- requests ([TRACE-4]) -----

    def opaque_ref(self, name):
        if name is None:
            return None
        if name == "default_file_access":
            return default_file_access
        if name == "default_task_resolver":
            return default_task_resolver
        return self.opaque.get(name)

    def es_ref(self, name):
        return None if name is None else self.es.get(name)

    def cs_ref(self, name):
        return None if name is None else self.cs.get(name)
