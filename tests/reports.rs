//! Reports a port author and a CI system can act on: a divergence shown
//! field by field (snapshot), JSON that follows the committed schema, and
//! JUnit XML that parses.

use flytectx_conformance::conform::{conform, CorpusSource, Plan};
use flytectx_conformance::port::{FailureKind, ModelAsPort, Port, PortFailure};
use flytectx_conformance::report::{render, Report};
use flytectx_model::{Answer, Op, Profile};
use serde_json::Value;
use std::process::Command;

/// The model, but `take_branch` leaves the branch mode as it was: a port
/// with one wrong rule ([ES-5]).
struct ForgetsTakeBranch(ModelAsPort);

impl Port for ForgetsTakeBranch {
    fn name(&self) -> String {
        "a port whose take_branch changes nothing".into()
    }
    fn run(&mut self, ops: &[Op]) -> Result<Vec<Answer>, PortFailure> {
        let mut answers = self.0.run(ops)?;
        let mut before: std::collections::HashMap<String, Value> = Default::default();
        for (op, answer) in ops.iter().zip(answers.iter_mut()) {
            if let Some(mut v) = answer.ok_value() {
                if let Op::TakeBranch { es } = op {
                    v["branch_eval_mode"] =
                        before.get(&es.to_string()).cloned().unwrap_or(Value::Null);
                }
                if let Some(id) = v.get("id").and_then(Value::as_str) {
                    before.insert(id.to_string(), v["branch_eval_mode"].clone());
                }
                *answer = Answer::Ok(v);
            }
        }
        Ok(answers)
    }
}

/// A port that fails the protocol at its third operation.
struct Crashes;

impl Port for Crashes {
    fn name(&self) -> String {
        "a port that crashes".into()
    }
    fn run(&mut self, ops: &[Op]) -> Result<Vec<Answer>, PortFailure> {
        let mut model = ModelAsPort::new(Profile::Compat);
        let answers = model.run(&ops[..ops.len().min(2)])?;
        if ops.len() <= 2 {
            return Ok(answers);
        }
        let mut f = PortFailure::new(FailureKind::Exited, "it stopped");
        f.answered = answers.iter().map(Answer::to_value).collect();
        Err(f)
    }
}

fn plan(traces: u32, corpus: bool) -> Plan {
    Plan {
        profile: Profile::Compat,
        corpus: corpus.then_some(CorpusSource::BuiltIn),
        traces,
        seed: 1,
        max_len: 40,
        shrink_budget: 5000,
        features: None,
    }
}

fn run(port: &mut dyn Port, plan: &Plan) -> Report {
    conform(port, plan, &mut |_| {}).expect("a valid run")
}

/// A divergence reads field by field, names the objects it touches and
/// where they were made, and lists the operation's own clauses first.
#[test]
fn a_divergence_is_shown_field_by_field() {
    let mut port = ForgetsTakeBranch(ModelAsPort::new(Profile::Compat));
    let report = run(&mut port, &plan(2000, false));
    let d = &report
        .counterexample
        .as_ref()
        .expect("a divergence")
        .divergence;
    assert!(
        d.differences
            .iter()
            .any(|f| f.path.ends_with("branch_eval_mode")),
        "{:?}",
        d.differences
    );
    insta::assert_snapshot!(render(&report));
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance/report.schema.json"
    ))
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("a valid schema")
}

fn assert_valid(validator: &jsonschema::Validator, report: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{report:#}");
}

/// Every kind of report validates against conformance/report.schema.json.
#[test]
fn reports_follow_the_committed_schema() {
    let validator = schema();
    let mut model = ModelAsPort::new(Profile::Compat);
    let reports = [
        ("a pass", run(&mut model, &plan(30, true))),
        (
            "a divergence",
            run(
                &mut ForgetsTakeBranch(ModelAsPort::new(Profile::Compat)),
                &plan(2000, false),
            ),
        ),
        ("a port failure", run(&mut Crashes, &plan(30, false))),
        (
            "nothing checked",
            run(&mut ModelAsPort::new(Profile::Compat), &plan(0, false)),
        ),
    ];
    let verdicts: Vec<&str> = reports.iter().map(|(what, _)| *what).collect();
    assert_eq!(verdicts.len(), 4);
    for (what, report) in &reports {
        assert_valid(&validator, &serde_json::to_value(report).unwrap(), what);
    }
    // And the binary's own output, with a corpus skip and a replay command.
    let out = Command::new(env!("CARGO_BIN_EXE_flytectx"))
        .args([
            "conform",
            "--port",
            "python3 tests/ports/minimal.py",
            "--profile",
            "compat",
        ])
        .args(["--traces", "20", "--json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(&validator, &report, "the binary's report");
    // The schema is strict enough to catch a drift.
    let mut drifted = report.clone();
    drifted["verdict"] = "maybe".into();
    assert!(validator.iter_errors(&drifted).next().is_some());
}

/// `--junit`: a failing run's file parses, with the failing trace as a
/// failure whose text is the shrunk trace, and the rest as passes or skips.
#[test]
fn a_failing_run_writes_junit_that_parses() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("failing.junit.xml");
    let out = Command::new(env!("CARGO_BIN_EXE_flytectx"))
        .args([
            "conform",
            "--port",
            "python3 tests/ports/minimal.py --declare builders",
        ])
        .args(["--profile", "compat", "--traces", "40", "--seed", "5"])
        .arg("--junit")
        .arg(&path)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(&path).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit XML");
    let corpus = &junit.test_suites[0];
    assert_eq!(corpus.name.as_str(), "corpus");
    let failing: Vec<_> = corpus
        .test_cases
        .iter()
        .filter(|c| matches!(c.status, quick_junit::TestCaseStatus::NonSuccess { .. }))
        .collect();
    assert_eq!(failing.len(), 1, "{xml}");
    match &failing[0].status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind, description, ..
        } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            let text = description.as_ref().unwrap().as_str();
            assert!(
                text.contains("\"flytectx_trace\":2"),
                "a corpus file: {text}"
            );
        }
        other => panic!("{other:?}"),
    }
    let skipped = corpus
        .test_cases
        .iter()
        .filter(|c| matches!(c.status, quick_junit::TestCaseStatus::Skipped { .. }))
        .count();
    assert!(skipped > 5, "{xml}");
    let random = &junit.test_suites[1];
    assert!(random.name.as_str().starts_with("random"));
}
