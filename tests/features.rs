//! Partial ports and releases ([FEAT-1]..[FEAT-4], [REL-1]..[REL-3]): the
//! runner checks what a port claims, says what it skipped and why, and fails
//! a port on a feature it declared but does not implement.

mod common;

use common::{flytectx, hostile, json_report};
use serde_json::Value;

/// `flytectx conform ARGS --json`; returns (exit status, report).
fn conform(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["conform"];
    all.extend_from_slice(args);
    all.extend(["--json", "--seed", "11", "--op-timeout-ms", "5000"]);
    let out = flytectx(&all);
    (out.status.code().expect("exited"), json_report(&out))
}

/// `conform` against tests/ports/minimal.py in the compat profile, with
/// `port_args` after the script and `extra` after the runner's arguments.
fn minimal(port_args: &str, extra: &[&str]) -> (i32, Value) {
    let port = format!("python3 tests/ports/minimal.py {port_args}");
    let mut args = vec!["--port", port.as_str(), "--profile", "compat"];
    args.extend_from_slice(extra);
    conform(&args)
}

fn serve_model(flags: &str) -> String {
    format!("{} serve-model {flags}", env!("CARGO_BIN_EXE_flytectx"))
}

fn feature<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feature"] == name)
        .unwrap_or_else(|| panic!("no verdict on {name}: {report:#}"))
}

/// The reasons of the corpus traces the run skipped.
fn skipped_reasons(report: &Value) -> Vec<&str> {
    report["corpus"]["traces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "skipped")
        .map(|t| t["reason"].as_str().unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

const OTHERS: [&str; 8] = [
    "builders",
    "conditionals",
    "execution_states",
    "compilation_states",
    "threads",
    "tasks",
    "signals",
    "origins",
];

/// [FEAT-3], [PORT-7]: a port with the stack core and `with` scopes only
/// passes, and every other feature shows as skipped, with the reason.
#[test]
fn a_stack_and_with_port_passes_and_every_other_feature_is_skipped() {
    let (code, report) = minimal("", &["--traces", "300"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["verdict"], "pass");
    assert_eq!(strings(&report["features_declared"]), ["stack", "with"]);
    for f in ["stack", "with"] {
        assert_eq!(feature(&report, f)["status"], "checked", "{f}");
        assert!(feature(&report, f)["traces"]["passed"].as_u64().unwrap() > 0);
    }
    for f in OTHERS {
        let v = feature(&report, f);
        assert_eq!(v["status"], "skipped", "{f}: {v:#}");
        assert_eq!(v["reason"], "not declared by the port", "{f}");
        assert!(
            !v["clauses"]["skipped"].as_array().unwrap().is_empty(),
            "{f}"
        );
        assert!(
            v["clauses"]["checked"].as_array().unwrap().is_empty(),
            "{f}"
        );
    }
    // Corpus traces needing more are skipped, never counted as passed.
    let corpus = &report["corpus"];
    let skipped = corpus["skipped"].as_u64().unwrap();
    assert!(skipped >= 10, "{corpus:#}");
    assert!(corpus["passed"].as_u64().unwrap() >= 3, "{corpus:#}");
    assert_eq!(corpus["failed"], 0);
    let reasons = skipped_reasons(&report);
    assert_eq!(reasons.len() as u64, skipped);
    assert!(reasons
        .iter()
        .all(|r| r.contains("(not declared by the port)")));
    assert_eq!(
        report["random"]["passed"], 300,
        "random traces use only stack and with"
    );
}

/// [FEAT-3]: declaring a feature is a promise; `unsupported` breaks it, and
/// the counterexample is shrunk and charged to that feature.
#[test]
fn a_port_declaring_builders_it_does_not_implement_fails_on_builders() {
    let (code, report) = minimal("--declare builders", &["--traces", "300", "--no-corpus"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["verdict"], "divergence");
    let c = &report["counterexample"];
    assert_eq!(c["origin"]["source"], "random");
    assert_eq!(strings(&c["charged_features"]), ["builders"]);
    assert_eq!(
        c["divergence"]["actual"],
        serde_json::json!({"err": "unsupported"})
    );
    let len = c["trace"].as_array().unwrap().len();
    assert!(len <= 2, "shrunk to {len} operations: {c:#}");
    assert!(c["origin"]["original_len"].as_u64().unwrap() >= len as u64);
    assert_eq!(feature(&report, "builders")["status"], "failed");
    assert_eq!(feature(&report, "signals")["status"], "skipped");

    // With the corpus, the first corpus trace needing builders shows it.
    let (code, report) = minimal("--declare builders", &["--traces", "10"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["counterexample"]["origin"]["source"], "corpus");
    assert_eq!(feature(&report, "builders")["status"], "failed");
}

/// [FEAT-3]: a version-1 port (no features in its hello) implements
/// everything, and is checked on everything.
#[test]
fn a_version_1_port_still_passes_on_every_feature() {
    let (code, report) = conform(&[
        "--port",
        &serve_model("--protocol-version 1"),
        "--traces",
        "200",
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["protocol_version"], 1);
    assert_eq!(strings(&report["features_checked"]).len(), 10);
    assert_eq!(report["corpus"]["skipped"], 0);
    for f in ["stack", "with", "builders", "threads", "tasks", "signals"] {
        assert_eq!(feature(&report, f)["status"], "checked", "{f}");
    }
}

/// `--features` narrows what is checked; the stack core is always checked.
#[test]
fn the_command_line_narrows_the_features_checked() {
    let (code, report) = conform(&["--features", "threads", "--traces", "200"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(strings(&report["features_checked"]), ["stack", "threads"]);
    assert_eq!(feature(&report, "threads")["status"], "checked");
    let with = feature(&report, "with");
    assert_eq!(
        (&with["status"], &with["reason"]),
        (&"skipped".into(), &"not selected with --features".into())
    );
    let out = flytectx(&["conform", "--features", "stack,teleport"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown feature `teleport`"));
}

/// [REL-1], [REL-2]: a port of an older release is not sent what its
/// release lacks, and corpus traces that need it are skipped with the reason.
#[test]
fn a_port_of_an_older_release_is_checked_on_what_that_release_has() {
    let (code, report) = conform(&[
        "--port",
        &serve_model("--release 1.10.7"),
        "--profile",
        "compat",
        "--traces",
        "300",
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["release"], "1.10.7");
    let signals = feature(&report, "signals");
    assert_eq!(signals["status"], "skipped");
    assert_eq!(signals["reason"], "flytekit 1.10.7 does not have it");
    let skipped = skipped_reasons(&report);
    assert!(
        skipped
            .iter()
            .any(|r| r.contains("which flytekit 1.10.7 does not have")),
        "{skipped:#?}"
    );
    assert_eq!(feature(&report, "execution_states")["status"], "checked");
}

/// A run in which no trace ran checked nothing, and does not pass.
#[test]
fn a_run_that_checks_nothing_is_not_a_pass() {
    let (code, report) = conform(&["--no-corpus", "--traces", "0"]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["verdict"], "nothing_checked");
}

/// [REL-3]: the runner expects the declared release's own behaviour where
/// releases differ. A port that declares 1.8.3 but behaves as 1.16.10 is
/// wrong on [COND-2]: before 1.9 a conditional section keeps a
/// LOCAL_TASK_EXECUTION state as it is (a flytekit bug), 1.16.10 copies it.
#[test]
fn a_port_is_held_to_the_behaviour_of_the_release_it_declares() {
    let port = hostile("claims-1.8.3", 0);
    let (code, report) = conform(&["--port", &port, "--profile", "compat", "--traces", "300"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["release"], "1.8.3");
    assert_eq!(report["verdict"], "divergence");
    let divergence = &report["counterexample"]["divergence"];
    assert!(
        strings(&divergence["clauses"]).contains(&"COND-2"),
        "{divergence:#}"
    );
    assert_eq!(
        divergence["differences"][0]["path"], "ok.execution_state.id",
        "the state was copied, where 1.8.3 keeps it: {divergence:#}"
    );
}
