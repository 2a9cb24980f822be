//! The trace and answer decoders on arbitrary bytes: errors are fine, panics
//! are not, and whatever decodes must survive a round trip through its own
//! line form.

#![no_main]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

use flytectx_model::answer::Answer;
use flytectx_model::trace::{decode_op_line, parse_trace, TraceFile};
use flytectx_model::Op;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// An op written back as a line decodes to the same op.
fn check_op(op: &Op) {
    let line = op.to_line();
    match decode_op_line(&line, 1, false) {
        Ok((back, None)) => assert_eq!(&back, op, "op round trip changed it: {line}"),
        Ok((_, Some(e))) => panic!("an expect field appeared from nowhere: {e} in {line}"),
        Err(e) => panic!("an op's own line does not decode: {e}\n  line: {line}"),
    }
}

/// A parsed trace, written back (header and ops only), parses to the same.
fn check_trace(t: &TraceFile) {
    let mut text = serde_json::to_string(&t.header).expect("a header serializes");
    text.push('\n');
    for op in &t.ops {
        check_op(op);
        text.push_str(&op.to_line());
        text.push('\n');
    }
    match parse_trace(text.as_bytes()) {
        Ok(back) => {
            assert_eq!(back.header, t.header, "header changed in round trip");
            assert_eq!(back.ops, t.ops, "ops changed in round trip");
        }
        Err(e) => panic!("a parsed trace, written back, does not parse: {e}\n{text}"),
    }
}

/// serde_json (without its `float_roundtrip` feature) may read a printed
/// float back one unit off, so answers holding floats are only checked to
/// parse again, not to be equal.
fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(a) => a.iter().any(has_float),
        Value::Object(m) => m.values().any(has_float),
        _ => false,
    }
}

fn check_answer(a: &Answer) {
    let line = a.to_line();
    match Answer::parse_line(&line) {
        Ok(back) => {
            if !has_float(&a.to_value()) {
                assert_eq!(&back, a, "answer round trip changed it: {line}");
            }
        }
        Err(e) => panic!("an answer's own line does not parse: {e}\n  line: {line}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = parse_trace(data) {
        check_trace(&t);
    }
    // Line by line too: most lines of a mutated trace fail the whole-file
    // parse early, and the single-line decoders deserve the coverage.
    for raw in data.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(raw) else {
            continue;
        };
        if let Ok((op, _)) = decode_op_line(line, 1, true) {
            check_op(&op);
        }
        if let Ok(a) = Answer::parse_line(line) {
            check_answer(&a);
        }
    }
});
