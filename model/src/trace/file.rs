//! Trace files: the header line, the whole file, and the structural rules
//! a trace obeys ([TRACE-1], [TRACE-5], [TRACE-6]).

use super::decode::{decode_op_line, serde_column, DecodeError};
use super::ops::{Bracket, Op};
use crate::feature::{Feature, FeatureSet};
use serde::{Deserialize, Serialize};

/// The version of the trace language this crate writes ([TRACE-1]). It
/// reads every version from 1 to this one: version 2 added the header's
/// `features` ([FEAT-4]).
pub const TRACE_VERSION: u64 = 2;

/// The header line of a trace file ([TRACE-1]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The trace language version the file is written in.
    pub flytectx_trace: u64,
    /// What the trace shows, in a sentence.
    pub title: String,
    /// The profiles whose behaviour its expectations describe.
    pub profiles: Vec<crate::Profile>,
    /// [FEAT-4]: the features a port needs to run it (version 2 on; a
    /// version-1 file needs the features its operations use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureSet>,
    /// The clause ids the trace exercises.
    pub clauses: Vec<String>,
}

/// A trace read from a file: header, and each operation with its line number
/// and, in a corpus file, its expected answer.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceFile {
    /// The header.
    pub header: Header,
    /// The line number of the header.
    pub header_line: usize,
    /// The operations, in order.
    pub ops: Vec<Op>,
    /// The line number of each operation.
    pub lines: Vec<usize>,
    /// The `expect` of each operation, in a corpus file ([TRACE-8]).
    pub expects: Vec<Option<serde_json::Value>>,
    /// The comment lines, as written.
    pub comments: Vec<String>,
}

impl TraceFile {
    /// [FEAT-4]: the features a port needs to run this trace: the header's,
    /// or, in a version-1 file, those its operations use; the stack core
    /// always (a trace starts with `reset`).
    pub fn features(&self) -> FeatureSet {
        let core = FeatureSet::only(Feature::Stack);
        core.union(
            self.header
                .features
                .unwrap_or_else(|| features_of(&self.ops)),
        )
    }
}

/// [FEAT-2]: the features a trace of these operations needs: the stack core
/// (it starts with `reset`) and those the operations use.
pub fn features_of(ops: &[Op]) -> FeatureSet {
    ops.iter()
        .fold(FeatureSet::only(Feature::Stack), |set, op| {
            set.union(op.features())
        })
}

/// Read a whole trace from bytes ([TRACE-1], [TRACE-9]); structural rules
/// ([TRACE-5], [TRACE-6]) are checked too. Nothing is run.
pub fn parse_trace(bytes: &[u8]) -> Result<TraceFile, DecodeError> {
    let mut header: Option<(Header, usize)> = None;
    let mut ops = Vec::new();
    let mut lines = Vec::new();
    let mut expects = Vec::new();
    let mut comments = Vec::new();
    for (i, raw_line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        let line = std::str::from_utf8(raw_line).map_err(|e| {
            let valid = std::str::from_utf8(&raw_line[..e.valid_up_to()]).unwrap_or("");
            DecodeError {
                line: line_no,
                column: valid.chars().count() + 1,
                message: "invalid UTF-8 (a trace is UTF-8 text)".to_string(),
            }
        })?;
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            comments.push(trimmed.to_string());
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if header.is_none() {
            header = Some((decode_header(line, line_no)?, line_no));
            continue;
        }
        let (op, expect) = decode_op_line(line, line_no, true)?;
        ops.push(op);
        lines.push(line_no);
        expects.push(expect);
    }
    let (header, header_line) = header.ok_or(DecodeError {
        line: 1,
        column: 1,
        message:
            "empty trace: the first line must be a header such as {\"flytectx_trace\": 2, ...}"
                .to_string(),
    })?;
    check_structure(&ops, &lines)?;
    if let Some(listed) = header.features {
        // [FEAT-4]: the header lists at least what the operations use.
        if let Some(i) = ops.iter().position(|op| !op.features().is_subset(listed)) {
            let missing = ops[i].features().difference(listed);
            return Err(DecodeError {
                line: lines[i],
                column: 1,
                message: format!(
                    "`{}` needs the feature{} {missing}, which the header's `features` does not list",
                    ops[i].name(),
                    if missing.iter().count() > 1 { "s" } else { "" },
                ),
            });
        }
    }
    Ok(TraceFile {
        header,
        header_line,
        ops,
        lines,
        expects,
        comments,
    })
}

/// Decode the header line ([TRACE-1]).
pub fn decode_header(line: &str, line_no: usize) -> Result<Header, DecodeError> {
    let header: Header = serde_json::from_str(line).map_err(|e| {
        let message = e.to_string();
        DecodeError {
            line: line_no,
            column: serde_column(line, 0, &e),
            message: format!(
                "header: {} (the first line is {{\"flytectx_trace\": {TRACE_VERSION}, \"title\": ..., \"profiles\": [...], \"features\": [...], \"clauses\": [...]}})",
                message.split(" at line ").next().unwrap_or("")
            ),
        }
    })?;
    let at_start = |message: String| DecodeError {
        line: line_no,
        column: 1,
        message,
    };
    match (header.flytectx_trace, header.features) {
        (1, Some(_)) => Err(at_start(
            "header: `features` came with version 2 of the trace language; this file says version 1".into(),
        )),
        (2, None) => Err(at_start(
            "header: a version-2 trace lists the `features` it needs ([FEAT-4])".into(),
        )),
        (1..=TRACE_VERSION, _) => Ok(header),
        (v, _) => Err(at_start(format!(
            "trace language version {v} is not known here; this reader knows versions 1 to {TRACE_VERSION}"
        ))),
    }
}

/// [TRACE-5], [TRACE-6]: brackets nest, and `reset` and `sigint` stand
/// outside every bracket. (That nothing but `reset` follows a `sigint` that
/// exits is known only by running the trace: the model refuses it,
/// [TRACE-7].) `lines[i]` is the line of `ops[i]`.
pub fn check_structure(ops: &[Op], lines: &[usize]) -> Result<(), DecodeError> {
    let line_of = |i: usize| lines.get(i).copied().unwrap_or(i + 1);
    let mut open: Vec<(Bracket, usize)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let err = |message: String| DecodeError {
            line: line_of(i),
            column: 1,
            message,
        };
        if let Some(b) = op.opens() {
            open.push((b, line_of(i)));
        } else if let Some(b) = op.closes() {
            match open.pop() {
                None => {
                    return Err(err(format!(
                        "`{}` closes nothing: no `{}` is open",
                        op.name(),
                        b.opener()
                    )))
                }
                Some((o, at)) if o != b => {
                    return Err(err(format!(
                        "`{}` cannot close the `{}` opened on line {at}",
                        op.name(),
                        o.opener()
                    )))
                }
                Some(_) => {}
            }
        } else if matches!(op, Op::Reset | Op::Sigint) {
            if let Some((o, at)) = open.last() {
                return Err(err(format!(
                    "`{}` must stand outside every bracket; the `{}` of line {at} is open",
                    op.name(),
                    o.opener()
                )));
            }
        }
    }
    if let Some((o, at)) = open.last() {
        return Err(DecodeError {
            line: at.to_owned(),
            column: 1,
            message: format!("this `{}` is never closed", o.opener()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::CtxName;

    #[test]
    fn structure_errors_count_lines_from_one_when_none_are_given() {
        let e = check_structure(&[Op::Size, Op::ThreadEnd], &[]).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    /// [TRACE-5], [TRACE-6]
    #[test]
    fn structure_rules_are_enforced_with_line_numbers() {
        let enter = Op::WithEnter {
            from: CtxName(0),
            steps: vec![],
        };
        let exit = Op::WithExit { raise: None };
        assert!(check_structure(&[enter.clone(), exit.clone()], &[2, 3]).is_ok());
        let e = check_structure(std::slice::from_ref(&exit), &[4]).unwrap_err();
        assert_eq!(e.line, 4);
        let e = check_structure(&[Op::ThreadBegin, exit.clone()], &[2, 3]).unwrap_err();
        assert!(
            e.message
                .contains("cannot close the `thread_begin` opened on line 2"),
            "{e}"
        );
        assert!(
            check_structure(&[Op::Sigint, Op::Size], &[2, 3]).is_ok(),
            "known only by running it"
        );
        let e = check_structure(&[Op::TaskBegin, Op::Sigint, Op::TaskEnd], &[2, 3, 4]).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = check_structure(&[Op::TaskBegin, Op::Reset, Op::TaskEnd], &[2, 3, 4]).unwrap_err();
        assert_eq!(e.line, 3);
        let e = check_structure(&[enter], &[9]).unwrap_err();
        assert!(e.message.contains("never closed") && e.line == 9, "{e}");
    }

    /// [TRACE-1] (a header first), [TRACE-9]
    #[test]
    fn a_file_with_invalid_utf8_names_the_line_and_column() {
        let mut bytes =
            b"{\"flytectx_trace\":1,\"title\":\"t\",\"profiles\":[],\"clauses\":[]}\n{\"op\":\""
                .to_vec();
        bytes.push(0xff);
        bytes.extend_from_slice(b"\"}\n");
        let e = parse_trace(&bytes).unwrap_err();
        assert_eq!((e.line, e.column), (2, 8), "{e}");
    }

    /// [TRACE-1], [FEAT-4]: version 1 has no `features`, version 2 must
    /// list them, and they must cover the operations.
    #[test]
    fn headers_of_both_versions_are_read_and_features_are_checked() {
        let file = |header: &str, body: &str| parse_trace(format!("{header}\n{body}").as_bytes());
        let v1 = r#"{"flytectx_trace":1,"title":"t","profiles":["compat"],"clauses":[]}"#;
        let t = file(
            v1,
            r#"{"op":"with_enter","from":"c0","steps":["enter_conditional_section"]}
{"op":"with_exit","raise":null}"#,
        )
        .unwrap();
        assert_eq!(
            t.features().to_string(),
            "stack, with, conditionals",
            "derived"
        );

        let v2 = |features: &str| {
            format!(
                r#"{{"flytectx_trace":2,"title":"t","profiles":["compat"],"features":{features},"clauses":[]}}"#
            )
        };
        let t = file(&v2(r#"["stack","threads"]"#), r#"{"op":"size"}"#).unwrap();
        assert_eq!(
            t.features().to_string(),
            "stack, threads",
            "the header's, even beyond the ops"
        );
        let e = file(
            &v2(r#"["stack"]"#),
            "{\"op\":\"size\"}\n{\"op\":\"thread_begin\"}\n{\"op\":\"thread_end\"}",
        )
        .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("needs the feature threads"), "{e}");
        let e = file(&v2(r#"["stack","sideways"]"#), "").unwrap_err();
        assert!(e.message.contains("unknown feature `sideways`"), "{e}");

        let e = file(&v2(r#"["stack"]"#).replace(":2,", ":1,"), "").unwrap_err();
        assert!(e.message.contains("came with version 2"), "{e}");
        let e = file(&v1.replace(":1,", ":2,"), "").unwrap_err();
        assert!(e.message.contains("lists the `features`"), "{e}");
        let e = file(&v1.replace(":1,", ":3,"), "").unwrap_err();
        assert!(e.message.contains("knows versions 1 to 2"), "{e}");
    }
}
