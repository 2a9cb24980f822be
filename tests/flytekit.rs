//! Real flytekit 1.16.10 against the model (compat profile): the golden
//! corpus and a few hundred random traces, through the adapter. Runs when the
//! pinned Python environment exists (`scripts/python-env.sh` makes it);
//! otherwise it says that it is skipped. The test command always makes the
//! environment, and runs a longer conformance run besides.

use std::path::Path;
use std::process::Command;

#[test]
fn flytekit_conforms_to_the_compat_profile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        eprintln!(
            "SKIPPED: no .venv (run scripts/python-env.sh); flytekit not checked by this test"
        );
        return;
    }
    let port = format!("{} conformance/adapters/flytekit.py", python.display());
    let out = Command::new(env!("CARGO_BIN_EXE_flytectx"))
        .args([
            "conform",
            "--port",
            &port,
            "--profile",
            "compat",
            "--traces",
            "300",
            "--seed",
            "1",
            "--json",
        ])
        .current_dir(root)
        .output()
        .expect("flytectx runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["random"]["passed"], 300);
    let corpus = &report["corpus"];
    assert!(corpus["passed"].as_u64().unwrap() >= 20, "{corpus:#}");
    assert_eq!(
        (&corpus["failed"], &corpus["skipped"]),
        (&0.into(), &0.into())
    );
    // A version-1 adapter, or a version-2 one declaring everything: all checked.
    assert_eq!(report["features_checked"].as_array().unwrap().len(), 10);
}
