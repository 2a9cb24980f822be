//! spec.md, built into the binary: the runner lists every clause of a
//! feature in its verdict, checked or not, wherever it runs.

/// The text of spec.md this binary was built with.
pub const TEXT: &str = include_str!("../spec.md");

/// The clause ids of a spec text, in the order the spec defines them: a
/// clause is defined by a paragraph that starts with its id.
pub fn clauses(spec: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut previous_blank = true;
    for line in spec.lines() {
        if previous_blank {
            if let Some((id, _)) = line.strip_prefix('[').and_then(|l| l.split_once(']')) {
                let well_formed = id.contains('-')
                    && id
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
                if well_formed && !ids.iter().any(|x| x == id) {
                    ids.push(id.to_string());
                }
            }
        }
        previous_blank = line.trim().is_empty();
    }
    ids
}

/// Clauses no trace can show, and why: the runner's own tests and the Rust
/// tests of the model and the implementation cover them instead. An entry
/// ending in `-` covers every clause of that section.
pub const NOT_IN_TRACES: &[(&str, &str)] = &[
    ("FEAT-", "about what a port declares and what a runner sends it: pinned by the runner's tests with partial ports"),
    ("REL-", "about what a port of a release is sent and expected to answer: pinned by the runner's tests with ports of older releases"),
    ("PROTO-", "about how a port talks, not what it answers: pinned by the runner's tests with fake ports"),
    ("TRACE-7", "an invalid trace cannot be a corpus file: pinned by tests that feed one to the runner"),
    ("TRACE-9", "a malformed file cannot be a corpus file: pinned by the hostile-input tests"),
    ("PORT-2", "a trace naming what no answer named is invalid, never sent: pinned by the tests of invalid traces"),
    ("PORT-5", "how answers are compared: pinned by the runner's unit tests"),
    ("PORT-6", "how a port runs units is not observable, only what they see: section 9's traces check that"),
    ("PORT-7", "about what a port declares: pinned by the runner's tests with partial ports"),
    ("PORT-8", "about how a port talks: pinned by the runner's tests with fake ports"),
    ("STK-1", "withdrawn: what it said no operation can observe"),
    ("CUR-3", "which of two spellings a program calls is not an operation: pinned by a probe of flytekit (conformance/probes/)"),
    ("WITH-7", "a scope entered twice, or left unentered, is not a trace: pinned by a probe of flytekit"),
    ("CTX-5", "equality and hashing are not operations of the trace language: pinned by a probe of flytekit"),
    ("BLD-8", "traces set builder fields through their methods only: pinned by a probe of flytekit"),
    ("SIG-5", "threads have no names in traces: pinned by a probe of flytekit"),
];

/// Why no trace can show clause `id`, if none can.
pub fn not_in_traces(id: &str) -> Option<&'static str> {
    NOT_IN_TRACES
        .iter()
        .find(|(p, _)| {
            if p.ends_with('-') {
                id.starts_with(p)
            } else {
                id == *p
            }
        })
        .map(|(_, why)| *why)
}
