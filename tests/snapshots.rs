//! Named scenarios (tests/scenarios/*.jsonl, data any port can read) run
//! through the model and through the implementation; the log of each run is
//! one insta snapshot (tests/snapshots/), and both must produce it.
//! Review changes with `cargo insta review`.

use flytectx_conformance::impl_port::ImplPort;
use flytectx_conformance::port::{ModelAsPort, Port};
use flytectx_conformance::run::{expect, Expected};
use flytectx_model::trace::parse_trace;
use flytectx_model::unwind::Outcome;
use flytectx_model::{Answer, Op, Profile};
use std::path::Path;

/// One line per operation of the trace as written: the operation, then what
/// became of it (a compact answer, or `skipped`).
fn log(ops: &[Op], exp: &Expected, answers: &[Answer]) -> String {
    let mut wire = answers[1..].iter();
    let mut out = String::new();
    for (op, step) in ops.iter().zip(&exp.steps) {
        let outcome = match step.outcome {
            Outcome::Skipped => "skipped".to_string(),
            Outcome::Answered(_) => wire
                .next()
                .expect("one answer per sent operation")
                .to_line(),
        };
        let sent = match &step.sent {
            Some(s) if s != op => format!("  (sent as {})", s.to_line()),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{}{sent}\n    => {}\n",
            op.to_line(),
            compact(&outcome)
        ));
    }
    out
}

/// Context summaries shortened to the fields a reader follows.
fn compact(answer: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(answer) else {
        return answer.to_string();
    };
    match v.get("ok") {
        Some(ctx) if ctx.get("level").is_some() => {
            let es = &ctx["execution_state"];
            format!(
                "ok {} level {}{}{}",
                ctx["id"].as_str().unwrap_or("?"),
                ctx["level"],
                if ctx["in_a_condition"] == true {
                    " in_a_condition"
                } else {
                    ""
                },
                if es.is_null() {
                    String::new()
                } else {
                    format!(
                        " es {} {} {}",
                        es["id"].as_str().unwrap_or("?"),
                        es["mode"],
                        es["branch_eval_mode"]
                    )
                }
            )
        }
        _ => answer.to_string(),
    }
}

fn scenario(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(format!("{name}.jsonl"));
    let trace = parse_trace(&std::fs::read(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let exp =
        expect(Profile::Isolated, &trace.ops).unwrap_or_else(|e| panic!("{name}: {}", e.error));
    let model = ModelAsPort::new(Profile::Isolated).run(&exp.wire).unwrap();
    let implementation = ImplPort::new().run(&exp.wire).unwrap();
    let (model_log, impl_log) = (
        log(&trace.ops, &exp, &model),
        log(&trace.ops, &exp, &implementation),
    );
    assert_eq!(
        impl_log, model_log,
        "{name}: the implementation's log differs from the model's"
    );
    let title = &trace.header.title;
    insta::with_settings!({ description => title.as_str(), omit_expression => true }, {
        insta::assert_snapshot!(name, model_log);
        insta::assert_snapshot!(name, impl_log);
    });
}

#[test]
fn nested_levels() {
    scenario("nested-levels");
}
#[test]
fn conditional_leak() {
    scenario("conditional-leak");
}
#[test]
fn pop_root() {
    scenario("pop-root");
}
#[test]
fn threads() {
    scenario("threads");
}
#[test]
fn signal_order() {
    scenario("signal-order");
}
#[test]
fn error_propagation() {
    scenario("error-propagation");
}
#[test]
fn task_copy() {
    scenario("task-copy");
}
#[test]
fn out_of_body_raise() {
    scenario("out-of-body-raise");
}

#[test]
fn every_scenario_file_has_a_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let src = include_str!("snapshots.rs");
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e
            .unwrap()
            .path()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(
            src.contains(&format!("scenario(\"{name}\")")),
            "no test runs tests/scenarios/{name}.jsonl"
        );
    }
}
