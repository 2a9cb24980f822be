//! Trace files: the header line, the whole file, and the structural rules
//! a trace obeys ([TRACE-1], [TRACE-5], [TRACE-6]).

use super::decode::{decode_op_line, serde_column, DecodeError};
use super::ops::{Bracket, Op};
use serde::{Deserialize, Serialize};

/// The version of the trace language this crate reads and writes ([TRACE-1]).
pub const TRACE_VERSION: u64 = 1;

/// The header line of a trace file ([TRACE-1]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub flytectx_trace: u64,
    pub title: String,
    pub profiles: Vec<crate::Profile>,
    pub clauses: Vec<String>,
}

/// A trace read from a file: header, and each operation with its line number
/// and, in a corpus file, its expected answer.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceFile {
    pub header: Header,
    pub ops: Vec<Op>,
    pub lines: Vec<usize>,
    pub expects: Vec<Option<serde_json::Value>>,
}

/// Read a whole trace from bytes ([TRACE-1], [TRACE-9]); structural rules
/// ([TRACE-5], [TRACE-6]) are checked too. Nothing is run.
pub fn parse_trace(bytes: &[u8]) -> Result<TraceFile, DecodeError> {
    let mut header: Option<Header> = None;
    let mut ops = Vec::new();
    let mut lines = Vec::new();
    let mut expects = Vec::new();
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
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if header.is_none() {
            header = Some(decode_header(line, line_no)?);
            continue;
        }
        let (op, expect) = decode_op_line(line, line_no, true)?;
        ops.push(op);
        lines.push(line_no);
        expects.push(expect);
    }
    let header = header.ok_or(DecodeError {
        line: 1,
        column: 1,
        message:
            "empty trace: the first line must be a header such as {\"flytectx_trace\": 1, ...}"
                .to_string(),
    })?;
    check_structure(&ops, &lines)?;
    Ok(TraceFile {
        header,
        ops,
        lines,
        expects,
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
                "header: {} (the first line is {{\"flytectx_trace\": 1, \"title\": ..., \"profiles\": [...], \"clauses\": [...]}})",
                message.split(" at line ").next().unwrap_or("")
            ),
        }
    })?;
    if header.flytectx_trace != TRACE_VERSION {
        return Err(DecodeError {
            line: line_no,
            column: 1,
            message: format!(
                "trace language version {} is not known here; this reader knows version {TRACE_VERSION}",
                header.flytectx_trace
            ),
        });
    }
    Ok(header)
}

/// [TRACE-5], [TRACE-6]: brackets nest, `reset` and `sigint` stand outside
/// every bracket, and `sigint` is last. `lines[i]` is the line of `ops[i]`.
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
            if matches!(op, Op::Sigint) && i + 1 != ops.len() {
                return Err(err(
                    "`sigint` ends the process, so it must be the last operation".to_string(),
                ));
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
        let e = check_structure(&[Op::Sigint, Op::Size], &[2, 3]).unwrap_err();
        assert!(e.message.contains("last operation"), "{e}");
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
}
