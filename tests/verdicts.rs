//! Verdicts that lose nothing and count honestly ([PROTO-4]), and a runner
//! that leaves no process behind.

mod common;

use common::{flytectx, hostile, json_report as report};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A new empty directory under the target directory, for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Write a corpus trace of `ops` (operation lines) into `dir` and fill in its
/// expected answers from the model.
fn corpus_file(dir: &Path, name: &str, ops: &[&str]) {
    let path = dir.join(name);
    let header = r#"{"flytectx_trace":2,"title":"a test trace","profiles":["compat","isolated"],"features":["stack"],"clauses":["SIZE-1"]}"#;
    let body: Vec<&str> = std::iter::once(header).chain(ops.iter().copied()).collect();
    std::fs::write(&path, body.join("\n") + "\n").unwrap();
    let out = flytectx(&["bless", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// [PROTO-4]: a wrong answer before a crash is the verdict (exit 1), with the
/// crash kept beside it; shrinking restarts the port, keeps the smallest
/// trace that still diverges, and reports a candidate that only crashed.
#[test]
fn a_divergence_before_a_crash_is_kept_shrunk_and_the_crash_reported() {
    let dir = scratch("divergence-then-crash");
    corpus_file(
        &dir,
        "t.jsonl",
        &[r#"{"op":"size"}"#, r#"{"op":"pop"}"#, r#"{"op":"current"}"#],
    );
    let out = flytectx(&[
        "conform",
        "--port",
        &hostile("lie-then-crash", 0),
        "--corpus",
        dir.to_str().unwrap(),
        "--traces",
        "0",
        "--json",
        "--op-timeout-ms",
        "5000",
    ]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "{r:#}");
    assert_eq!(r["verdict"], "divergence");
    assert_eq!(r["port_failure"]["kind"], "exited", "kept beside: {r:#}");
    let c = &r["counterexample"];
    assert_eq!(
        c["trace"],
        serde_json::json!([{"op": "size"}]),
        "shrunk: {c:#}"
    );
    assert_eq!(c["divergence"]["actual"], serde_json::json!({"ok": -1}));
    assert_eq!(c["origin"]["title"], "a test trace");
    let found = &r["shrink_port_failure"];
    assert_eq!(found["kind"], "exited", "found while shrinking: {r:#}");
    let ops: Vec<&str> = found["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["op"].as_str().unwrap())
        .collect();
    assert!(ops.contains(&"pop"), "{ops:?}");
}

/// Counts of a run that stops at its first failure: passed, failed, not run.
#[test]
fn counts_are_right_when_a_run_stops_early() {
    let dir = scratch("stops-early");
    corpus_file(&dir, "a.jsonl", &[r#"{"op":"current"}"#]);
    corpus_file(&dir, "b.jsonl", &[r#"{"op":"size"}"#]);
    corpus_file(&dir, "c.jsonl", &[r#"{"op":"current"}"#]);
    std::fs::write(dir.join("notes.txt"), "not a trace").unwrap();
    let out = flytectx(&[
        "conform",
        "--port",
        &hostile("lie-then-crash", 0),
        "--corpus",
        dir.to_str().unwrap(),
        "--traces",
        "7",
        "--seed",
        "3",
        "--json",
    ]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "{r:#}");
    let corpus = &r["corpus"];
    assert_eq!(
        (
            &corpus["passed"],
            &corpus["failed"],
            &corpus["skipped"],
            &corpus["not_run"]
        ),
        (&1.into(), &1.into(), &0.into(), &1.into()),
        "{corpus:#}"
    );
    let ignored = corpus["ignored_files"].as_array().unwrap();
    assert!(
        ignored[0].as_str().unwrap().ends_with("notes.txt"),
        "{corpus:#}"
    );
    let random = &r["random"];
    assert_eq!(
        (&random["passed"], &random["not_run"]),
        (&0.into(), &7.into())
    );
}

/// A corpus directory without a trace checks nothing: a usage error that
/// names what it holds.
#[test]
fn a_corpus_without_traces_is_a_usage_error() {
    let dir = scratch("no-traces");
    std::fs::write(dir.join("a.trace"), "{}").unwrap();
    let out = flytectx(&[
        "conform",
        "--corpus",
        dir.to_str().unwrap(),
        "--traces",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no trace (*.jsonl)") && err.contains("a.trace"),
        "{err}"
    );
}

/// A run without --seed says its seed and the command that repeats it.
#[test]
fn an_unpinned_run_prints_the_command_that_replays_it() {
    let out = flytectx(&["conform", "--no-corpus", "--traces", "3", "--json"]);
    let r = report(&out);
    let seed = r["seed"].as_u64().unwrap();
    let replay = r["replay"].as_str().unwrap();
    assert!(replay.ends_with(&format!("--seed {seed}")), "{replay}");
    assert!(
        replay.starts_with("flytectx conform --no-corpus --traces 3"),
        "{replay}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(replay));
}

fn alive(pid: i32) -> bool {
    // A process that is gone, or a zombie waiting for its parent, is not running.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// [PROTO-4]: a port that hangs is ended with everything in its process
/// group, here a shell, the port under it, and a child the port started.
#[test]
fn a_hanging_port_leaves_no_process_behind() {
    let dir = scratch("fork-hang");
    let pid_file = dir.join("child.pid");
    let out = Command::new(env!("CARGO_BIN_EXE_flytectx"))
        .args([
            "conform",
            "--port",
            // Not `exec`: the shell stays, the port is its child.
            "python3 tests/ports/hostile.py fork-hang 2",
            "--no-corpus",
            "--traces",
            "3",
            "--op-timeout-ms",
            "1500",
            "--json",
        ])
        .env("FLYTECTX_BIN", env!("CARGO_BIN_EXE_flytectx"))
        .env("FLYTECTX_CHILD_PID_FILE", &pid_file)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let r = report(&out);
    assert_eq!(r["port_failure"]["kind"], "timeout", "{r:#}");
    let child: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(child) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !alive(child),
        "the port's child {child} survived the runner"
    );
}

/// The hello wait follows --hello-timeout-ms, not a fixed minute.
#[test]
fn the_hello_wait_honours_its_time_limit() {
    let started = Instant::now();
    let out = flytectx(&[
        "conform",
        "--port",
        "sleep 30",
        "--hello-timeout-ms",
        "300",
        "--json",
    ]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(r["port_failure"]["kind"], "timeout", "{r:#}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// The golden corpus is built into the binary: `flytectx conform` runs from
/// any directory, as after `cargo install --path .`.
#[test]
fn the_runner_works_from_any_directory() {
    let elsewhere = scratch("elsewhere");
    let out = Command::new(env!("CARGO_BIN_EXE_flytectx"))
        .args(["conform", "--traces", "20", "--seed", "1", "--json"])
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert!(r["corpus"]["source"]
        .as_str()
        .unwrap()
        .starts_with("built-in"));
    let in_repo =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/corpus"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "jsonl")
            })
            .count();
    let c = &r["corpus"];
    let seen = c["traces"].as_array().unwrap().len() as u64 + c["other_profile"].as_u64().unwrap();
    assert_eq!(
        seen, in_repo as u64,
        "every trace of conformance/corpus is built in"
    );
    assert!(c["passed"].as_u64().unwrap() > 10, "{c:#}");
}
