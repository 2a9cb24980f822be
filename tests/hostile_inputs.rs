//! Inputs a runner meets in the wild ([TRACE-9]): huge files, deep nesting,
//! bad numbers. Errors name the line and column; nothing panics; nothing
//! overflows the runner's stack.

use flytectx_conformance::impl_port::ImplPort;
use flytectx_conformance::port::{ModelAsPort, Port};
use flytectx_conformance::run::{compare, expect};
use flytectx_model::trace::parse_trace;
use flytectx_model::Profile;

const HEADER: &str =
    "{\"flytectx_trace\":1,\"title\":\"t\",\"profiles\":[\"isolated\"],\"clauses\":[]}\n";

/// A trace of `depth` nested scopes, each entered from the one above.
fn nested(depth: usize) -> String {
    let mut t = String::from(HEADER);
    t.push_str("{\"op\":\"current\"}\n");
    for i in 0..depth {
        t.push_str(&format!(
            "{{\"op\":\"with_enter\",\"from\":\"c{i}\",\"steps\":[]}}\n"
        ));
    }
    t.push_str("{\"op\":\"size\"}\n");
    for _ in 0..depth {
        t.push_str("{\"op\":\"with_exit\",\"raise\":null}\n");
    }
    t.push_str("{\"op\":\"size\"}\n");
    t
}

#[test]
fn a_hundred_thousand_nested_scopes_run_without_overflowing_any_stack() {
    let depth = 100_000;
    // Run on a small thread stack: nothing on the way may recurse per scope.
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let trace = parse_trace(nested(depth).as_bytes()).unwrap();
            let exp = expect(Profile::Isolated, &trace.ops).unwrap();
            assert_eq!(
                exp.answers[depth + 2].to_value(),
                serde_json::json!({"ok": depth + 1})
            );
            let model = ModelAsPort::new(Profile::Isolated).run(&exp.wire).unwrap();
            assert_eq!(compare(&exp.wire, &exp.answers, &model), None);
            let implementation = ImplPort::new().run(&exp.wire).unwrap();
            assert_eq!(compare(&exp.wire, &exp.answers, &implementation), None);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deep_nesting_inside_one_line_is_refused_not_recursed() {
    // JSON nested far beyond serde_json's limit, in a field and in `steps`.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let text = format!("{HEADER}{{\"op\":\"build\",\"from\":\"c0\",\"steps\":{deep}}}\n");
    let e = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || parse_trace(text.as_bytes()))
        .unwrap()
        .join()
        .unwrap()
        .unwrap_err();
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn a_hundred_megabyte_trace_is_read_and_a_fault_deep_inside_is_placed() {
    if std::env::var_os("FLYTECTX_QUICK").is_some() {
        eprintln!("SKIPPED under FLYTECTX_QUICK: reads 100 MB twice");
        return;
    }
    let line = "{\"op\":\"size\",\"expect\":{\"ok\":1}}\n";
    let lines = 100_000_000 / line.len() + 1;
    let mut text = String::with_capacity(lines * line.len() + 200);
    text.push_str(HEADER);
    for _ in 0..lines {
        text.push_str(line);
    }
    assert!(text.len() >= 100_000_000);
    let trace = parse_trace(text.as_bytes()).unwrap();
    assert_eq!(trace.ops.len(), lines);
    // The same file with one bad number near the end.
    let at = text.len() - 10 * line.len();
    text.replace_range(
        at..at + line.len(),
        "{\"op\":\"new_cs\",\"prefix\":\"\",\"mode\":1e999,\"task_resolver\":null}\n",
    );
    let e = parse_trace(text.as_bytes()).unwrap_err();
    assert_eq!(e.line, lines - 8, "{e}");
    assert!(e.message.contains("field `mode`"), "{e}");
}

#[test]
fn numbers_out_of_range_and_wrong_types_are_placed() {
    for (line, col, want) in [
        ("{\"op\":\"new_cs\",\"prefix\":\"\",\"mode\":99999999999999999999,\"task_resolver\":null}", 35, "field `mode`"),
        ("{\"op\":\"push\",\"ctx\":\"c99999999999\"}", 20, "field `ctx`"),
        ("{\"op\":\"push\",\"ctx\":[\"c0\"]}", 20, "field `ctx`"),
        ("{\"op\":7}", 7, "field `op`"),
        ("[1,2]", 1, "JSON object"),
        ("{\"op\":\"size\"} trailing", 15, "trailing"),
    ] {
        let e = parse_trace(format!("{HEADER}{line}\n").as_bytes()).unwrap_err();
        assert_eq!((e.line, e.column), (2, col), "{line}: {e}");
        assert!(e.message.contains(want), "{line}: {e}");
    }
}
