//! The golden corpus: trace files whose lines carry the expected answers
//! ([TRACE-8]), in wire form so that any runner can replay them.

use crate::error::UsageError;
use crate::run::expect;
use flytectx_model::trace::{
    features_of, parse_trace, DecodeError, Header, TraceFile, TRACE_VERSION,
};
use flytectx_model::unwind::is_wire_form;
use flytectx_model::{Answer, Op, Profile};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One corpus file.
#[derive(Clone, Debug)]
pub struct CorpusTrace {
    pub path: PathBuf,
    pub file: TraceFile,
    /// The expected answer of each operation.
    pub expected: Vec<Answer>,
}

impl CorpusTrace {
    /// The wire operations to send, with the leading `reset`, and their expected answers.
    pub fn wire(&self) -> (Vec<Op>, Vec<Answer>) {
        let mut wire = vec![Op::Reset];
        wire.extend(self.file.ops.iter().cloned());
        let mut expected = vec![Answer::Ok(Value::Null)];
        expected.extend(self.expected.iter().cloned());
        (wire, expected)
    }
}

/// Read one corpus file; every operation line must carry `expect`.
pub fn load_file(path: &Path) -> Result<CorpusTrace, UsageError> {
    let bytes = std::fs::read(path).map_err(|e| UsageError::Io(path.to_path_buf(), e))?;
    load_bytes(path, &bytes)
}

/// Read a corpus trace from its text; `path` names it in errors and reports.
pub fn load_bytes(path: &Path, bytes: &[u8]) -> Result<CorpusTrace, UsageError> {
    let file = parse_trace(bytes).map_err(|e| UsageError::Corpus(path.to_path_buf(), e))?;
    let mut expected = Vec::with_capacity(file.ops.len());
    for (i, e) in file.expects.iter().enumerate() {
        let line = file.lines[i];
        let missing = || DecodeError {
            line,
            column: 1,
            message: "a corpus line needs the field `expect` ([TRACE-8])".into(),
        };
        let v = e
            .as_ref()
            .ok_or_else(|| UsageError::Corpus(path.to_path_buf(), missing()))?;
        let a = Answer::from_value(v).map_err(|why| {
            UsageError::Corpus(
                path.to_path_buf(),
                DecodeError {
                    line,
                    column: 1,
                    message: format!("`expect`: {why}"),
                },
            )
        })?;
        expected.push(a);
    }
    // [TRACE-7]: a trace naming what no answer named is refused before any port sees it.
    for &profile in &file.header.profiles {
        if let Err(e) = expect(profile, &file.ops) {
            return Err(UsageError::Corpus(
                path.to_path_buf(),
                invalid_at(bytes, file.lines[e.index], &e, profile),
            ));
        }
    }
    Ok(CorpusTrace {
        path: path.to_path_buf(),
        file,
        expected,
    })
}

/// Where in the file a refused name is: its line, and the column of the name.
pub fn invalid_at(
    bytes: &[u8],
    line: usize,
    e: &crate::run::InvalidTrace,
    profile: Profile,
) -> DecodeError {
    let text = bytes
        .split(|&b| b == b'\n')
        .nth(line - 1)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    // The column of the name at fault, or of the field when no name is.
    let needle = match e.error.name() {
        Some(n) => format!("\"{n}\""),
        None => format!("\"{}\"", e.error.field),
    };
    let column = text
        .find(&needle)
        .map(|b| flytectx_model::trace::char_column(&text, b))
        .unwrap_or(1);
    DecodeError {
        line,
        column,
        message: format!("{} (in the {profile} profile)", e.error),
    }
}

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/corpus.rs"));
}

/// Where the built-in corpus says its traces come from.
pub const BUILT_IN: &str = "built-in";

/// The golden corpus built into the binary (conformance/corpus/ when it
/// was built), so that the runner works from any directory.
pub fn load_builtin() -> Result<Loaded, UsageError> {
    let traces = builtin::CORPUS
        .iter()
        .map(|(name, text)| load_bytes(&Path::new(BUILT_IN).join(name), text.as_bytes()))
        .collect::<Result<_, _>>()?;
    Ok(Loaded {
        traces,
        ignored: Vec::new(),
    })
}

/// The traces of a corpus directory, and what else it holds.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Every `*.jsonl` file, read, in name order.
    pub traces: Vec<CorpusTrace>,
    /// The other entries, not read.
    pub ignored: Vec<String>,
}

/// Every `*.jsonl` file of `dir`, in name order. A directory without one is
/// a usage error: a corpus that holds no trace checks nothing.
pub fn load_dir(dir: &Path) -> Result<Loaded, UsageError> {
    let entries = std::fs::read_dir(dir).map_err(|e| UsageError::Io(dir.to_path_buf(), e))?;
    let (mut paths, mut ignored): (Vec<PathBuf>, Vec<PathBuf>) = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .partition(|p| p.is_file() && p.extension().is_some_and(|x| x == "jsonl"));
    paths.sort();
    ignored.sort();
    let ignored: Vec<String> = ignored.iter().map(|p| p.display().to_string()).collect();
    if paths.is_empty() {
        return Err(UsageError::Other(format!(
            "{}: no trace (*.jsonl) in this corpus directory{}",
            dir.display(),
            if ignored.is_empty() {
                String::new()
            } else {
                format!("; it holds only {}", ignored.join(", "))
            }
        )));
    }
    let traces = paths
        .iter()
        .map(|p| load_file(p))
        .collect::<Result<_, _>>()?;
    Ok(Loaded { traces, ignored })
}

/// A corpus file's text: header, then each operation with its `expect`.
pub fn render_file(
    title: &str,
    profiles: &[Profile],
    clauses: &[String],
    ops: &[Op],
    expected: &[Value],
) -> String {
    let header = Header {
        flytectx_trace: TRACE_VERSION,
        title: title.to_string(),
        profiles: profiles.to_vec(),
        features: Some(features_of(ops)),
        clauses: clauses.to_vec(),
    };
    let mut out = serde_json::to_string(&header).expect("headers serialize");
    out.push('\n');
    for (op, e) in ops.iter().zip(expected) {
        out.push_str(&line_with_expect(op, e));
        out.push('\n');
    }
    out
}

fn line_with_expect(op: &Op, expected: &Value) -> String {
    let mut v = serde_json::to_value(op).expect("ops serialize");
    if let Value::Object(m) = &mut v {
        m.insert("expect".to_string(), expected.clone());
    }
    v.to_string()
}

/// Fill in (or refresh) the `expect` of every line of a corpus file from the
/// model, and write its header in the current trace version, keeping
/// comments and blank lines. The file must be in wire form
/// ([TRACE-8]) and give the same answers under every profile it lists.
pub fn bless(path: &Path) -> Result<usize, UsageError> {
    let bytes = std::fs::read(path).map_err(|e| UsageError::Io(path.to_path_buf(), e))?;
    let file = parse_trace(&bytes).map_err(|e| UsageError::Corpus(path.to_path_buf(), e))?;
    let err = |line: usize, message: String| {
        UsageError::Corpus(
            path.to_path_buf(),
            DecodeError {
                line,
                column: 1,
                message,
            },
        )
    };
    if file.header.profiles.is_empty() {
        return Err(err(1, "the header lists no profile".into()));
    }
    let mut answers: Option<(Profile, Vec<Answer>)> = None;
    for &profile in &file.header.profiles {
        let exp = expect(profile, &file.ops).map_err(|e| {
            err(
                file.lines[e.index],
                format!("{} (in the {profile} profile)", e.error),
            )
        })?;
        if !is_wire_form(&file.ops, &exp.steps) {
            let at = exp
                .steps
                .iter()
                .find(|s| s.sent.as_ref() != Some(&file.ops[s.index]))
                .map(|s| s.index)
                .unwrap_or(0);
            return Err(err(
                file.lines[at],
                "not in wire form: an error propagates here, so this line would be skipped or its `raise` rewritten ([RUN-1], [TRACE-8])".into(),
            ));
        }
        let mine = exp.answers[1..].to_vec();
        if let Some((first, theirs)) = &answers {
            if let Some(i) = theirs.iter().zip(&mine).position(|(a, b)| a != b) {
                return Err(err(file.lines[i], format!("the {first} and {profile} profiles answer differently here; split the file")));
            }
        } else {
            answers = Some((profile, mine));
        }
    }
    let answers = answers.expect("at least one profile").1;
    let text = String::from_utf8_lossy(&bytes);
    let mut out = String::new();
    let mut next = 0;
    // [FEAT-4]: the header is written in the current version, listing the
    // features the trace needs.
    let header = Header {
        flytectx_trace: TRACE_VERSION,
        features: Some(file.features()),
        ..file.header.clone()
    };
    for (i, line) in text.split('\n').enumerate() {
        if i + 1 == file.header_line {
            out.push_str(&serde_json::to_string(&header).expect("headers serialize"));
        } else if next < file.lines.len() && file.lines[next] == i + 1 {
            out.push_str(&line_with_expect(
                &file.ops[next],
                &answers[next].to_value(),
            ));
            next += 1;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    std::fs::write(path, out).map_err(|e| UsageError::Io(path.to_path_buf(), e))?;
    Ok(file.ops.len())
}
