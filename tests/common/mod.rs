//! What the runner's end-to-end tests share: running the `flytectx` binary
//! as a user would, reading its JSON report, and the misbehaving port.

// Each test binary includes this module and uses a part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::process::{Command, Output};

/// Run `flytectx ARGS` from the repository root. `FLYTECTX_BIN` tells the
/// test ports where the binary is, for the reference port they relay to.
pub fn flytectx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flytectx"))
        .args(args)
        .env("FLYTECTX_BIN", env!("CARGO_BIN_EXE_flytectx"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("flytectx runs")
}

/// The `--json` report a run printed; a test fails with what the run
/// printed when it is not one.
pub fn json_report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the report is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// tests/ports/hostile.py in `mode`, misbehaving after `after` operations.
pub fn hostile(mode: &str, after: u32) -> String {
    // `exec`, so that no shell keeps the port's output open after it closes it.
    format!("exec python3 tests/ports/hostile.py {mode} {after}")
}
